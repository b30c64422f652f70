from __future__ import annotations

from fusion.settings import (
    BusFragment,
    DatabaseFragment,
    FusionSettings,
    HttpClientFragment,
    env_prefix,
)


class Settings(FusionSettings, DatabaseFragment, BusFragment, HttpClientFragment):
    model_config = env_prefix("MIGRATIONS")

    database_url: str = "sqlite+aiosqlite:///var/migration_orchestrator.db"
