from __future__ import annotations

from pydantic import Field, SecretStr

from fusion.settings import ServiceSettings, env_prefix


class Settings(ServiceSettings):
    model_config = env_prefix("IDENTITY")

    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///var/identity.db"),
        description="SQLAlchemy URL of identity's database (`postgresql+asyncpg://...`)",
    )
