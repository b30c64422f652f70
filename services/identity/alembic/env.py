from fusion.alembic_env import run_env
from services.identity.models import metadata

run_env(metadata)
