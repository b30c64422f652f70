from fusion.migrations import run_env
from services.enrolment_sync.models import metadata

run_env(metadata)
