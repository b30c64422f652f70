from __future__ import annotations

from fusion.settings import MoodleFragment, ServiceSettings, env_prefix
from services.migration_orchestrator.pages.settings import PagesFragment
from services.migration_orchestrator.preflight.archive import ArchiveLimits


class Settings(ServiceSettings, MoodleFragment, PagesFragment):
    model_config = env_prefix("MIGRATIONS")

    database_url: str = "sqlite+aiosqlite:///var/migration_orchestrator.db"
    preflight: ArchiveLimits = ArchiveLimits()
