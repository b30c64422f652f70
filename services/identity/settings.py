from __future__ import annotations

from fusion.settings import ServiceSettings, env_prefix


class Settings(ServiceSettings):
    model_config = env_prefix("IDENTITY")

    database_url: str = "sqlite+aiosqlite:///var/identity.db"
