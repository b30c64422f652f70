from fusion.alembic_env import run_env
from services.enrolment_sync.models import metadata

run_env(metadata)
