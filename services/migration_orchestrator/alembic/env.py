from fusion.alembic_env import run_env
from services.migration_orchestrator.migrations.models import metadata

run_env(metadata)
