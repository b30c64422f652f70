from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from fusion.settings import MoodleFragment, ServiceSettings, env_prefix
from services.migration_orchestrator.preflight.archive import ArchiveLimits


class Settings(ServiceSettings, MoodleFragment):
    model_config = env_prefix("MIGRATIONS")

    database_url: str = "sqlite+aiosqlite:///var/migration_orchestrator.db"
    preflight: ArchiveLimits = ArchiveLimits()
    # The merged platform among ``platforms``; every other one is a source.
    target_platform: str = "target"
    target_release: str | None = Field(default="4.5", max_length=40)
    apogee_url: str = "http://127.0.0.1:8000"
    apogee_token: SecretStr = SecretStr("demo-service")
    identity_url: str = "http://127.0.0.1:8000"
    identity_token: SecretStr = SecretStr("demo-service")
    store_dir: Path = Path("var/backups")
    max_backup_bytes: int = Field(default=50 * 1024**3, ge=1024)
    # A worker renews its lease while the backup runs; one that stops is presumed dead.
    backup_lease_seconds: float = Field(default=120.0, gt=0)
    backup_max_attempts: int = Field(default=3, ge=1, le=20)
    lease_watch_seconds: float = Field(default=15.0, gt=0)
    teacher_role_id: int = Field(default=3, ge=1)
    # Platforms whose backup worker (and the target's restore worker) run inside this process,
    # talking to the orchestrator at ``workers_orchestrator_url``: the all-in-one mode.
    inprocess_workers: list[str] = Field(default_factory=list)
    workers_orchestrator_url: str = "http://127.0.0.1:8000"
    workers_dir: Path = Path("var/worker")
    steps_prefetch: int = Field(default=8, ge=1, le=100)
