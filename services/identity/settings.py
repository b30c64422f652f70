from __future__ import annotations

from fusion.settings import (
    BusFragment,
    DatabaseFragment,
    FusionSettings,
    HttpClientFragment,
    env_prefix,
)


class Settings(FusionSettings, DatabaseFragment, BusFragment, HttpClientFragment):
    model_config = env_prefix("IDENTITY")

    database_url: str = "sqlite+aiosqlite:///var/identity.db"
