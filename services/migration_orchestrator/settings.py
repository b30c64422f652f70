from __future__ import annotations

from pydantic import Field, SecretStr

from fusion.settings import MoodleFragment, ServiceSettings, env_prefix
from services.migration_orchestrator.pages.settings import PagesFragment
from services.migration_orchestrator.preflight.archive import ArchiveLimits


class Settings(ServiceSettings, MoodleFragment, PagesFragment):
    model_config = env_prefix("MIGRATIONS")

    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///var/migration_orchestrator.db"),
        description="SQLAlchemy URL of the orchestrator's database (`postgresql+asyncpg://...`)",
    )
    preflight: ArchiveLimits = Field(
        default=ArchiveLimits(),
        description="JSON object of limits on an analysed backup (fields below, under "
        "`ArchiveLimits`)",
    )
