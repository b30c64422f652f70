from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from fusion.settings import PRODUCTION_REQUIRED, DatabaseFragment, FusionSettings, env_prefix


class Settings(FusionSettings, DatabaseFragment):
    """``FUSION_APOGEE_DATABASE_URL`` names the Apogée read replica (read only)."""

    model_config = env_prefix("APOGEE")
    service_name: ClassVar[str] = "apogee_api"

    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///var/apogee.db"),
        description="SQLAlchemy URL of the Apogée read replica, read only: "
        "`oracle+oracledb://user:password@host:1521/?service_name=NAME` (thin mode, no Oracle "
        "client) or `postgresql+asyncpg://...`; see docs/apogee-account.md",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    payment_states: tuple[str, ...] = Field(
        default=("P", "A"),
        description="accepted ETA_PMT_IAE values (`P` paid, `A` awaiting payment), JSON list; "
        "empty = no payment filter",
    )
    catalogue_refresh_seconds: float = Field(
        default=600.0, ge=5.0, description="how often the code catalogue is read again"
    )
    bulk_chunk_size: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="codes per chunk of members:bulk (a few queries each, read ahead while the "
        "previous chunk is sent; IN lists are split at 1,000 items for Oracle whatever this is)",
    )
