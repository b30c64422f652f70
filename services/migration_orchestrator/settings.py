from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from fusion.apogee import ApogeeFragment
from fusion.settings import PRODUCTION_REQUIRED, MoodleFragment, ServiceSettings, env_prefix
from services.migration_orchestrator.pages.settings import PagesFragment
from services.migration_orchestrator.preflight.archive import ArchiveLimits


class Settings(ServiceSettings, ApogeeFragment, MoodleFragment, PagesFragment):
    model_config = env_prefix("MIGRATIONS")
    service_name: ClassVar[str] = "migration_orchestrator"

    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///var/migration_orchestrator.db"),
        description="SQLAlchemy URL of the orchestrator's database (`postgresql+asyncpg://...`)",
    )
    preflight: ArchiveLimits = Field(
        default=ArchiveLimits(),
        description="JSON object of limits on an analysed backup (fields below, under "
        "`ArchiveLimits`)",
    )
    target_platform: str = Field(
        default="target",
        description="the merged platform among `platforms`; every other is a source",
    )
    target_release: str | None = Field(
        default="4.5", max_length=40, description="Moodle release of the merged platform"
    )
    identity_url: str = Field(
        default="http://127.0.0.1:8000",
        description="base URL of Fusion's identity service (restore-check)",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    identity_token: SecretStr = Field(
        default=SecretStr("demo-service"),
        description="a `service` token for the identity service",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    store_dir: Path = Field(
        default=Path("var/backups"), description="directory of the backup store"
    )
    max_backup_bytes: int = Field(
        default=50 * 1024**3, ge=1024, description="largest backup file the store accepts"
    )
    backup_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="a worker renews its lease while a backup runs; one that stops renewing is "
        "presumed dead after this long",
    )
    backup_claim_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        le=20,
        description="a worker's claim that finds every backup slot of its platform busy waits "
        "this long for one to be released before answering busy (below the workers' "
        "`http_read_timeout_seconds`)",
    )
    backup_max_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="attempts of one step (backup, restore) before the migration fails",
    )
    restore_grace_seconds: float = Field(
        default=900.0,
        gt=0,
        description="a restore not reported within the target platform's `cli_timeout_seconds` "
        "plus this (the file's download, the report) is queued again, up to "
        "`backup_max_attempts`, then fails",
    )
    lease_watch_seconds: float = Field(
        default=15.0, gt=0, description="how often expired leases are looked for"
    )
    teacher_role_id: int = Field(
        default=3, ge=1, description="role id (editingteacher) given to the requesting teachers"
    )
    inprocess_workers: list[str] = Field(
        default_factory=list,
        description="source platforms whose backup worker (and the target's restore worker) run "
        "inside this process: the all-in-one mode",
    )
    workers_orchestrator_url: str = Field(
        default="http://127.0.0.1:8000",
        description="where in-process workers reach this orchestrator's API",
    )
    workers_dir: Path = Field(
        default=Path("var/worker"), description="scratch directory of in-process workers"
    )
    steps_prefetch: int = Field(
        default=8, ge=1, le=100, description="step messages a replica handles at once"
    )
