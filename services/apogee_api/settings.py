from __future__ import annotations

from pydantic import Field

from fusion.settings import DatabaseFragment, FusionSettings, env_prefix


class Settings(FusionSettings, DatabaseFragment):
    """``FUSION_APOGEE_DATABASE_URL`` names the Apogée read replica (read only)."""

    model_config = env_prefix("APOGEE")

    database_url: str = "sqlite+aiosqlite:///var/apogee.db"
    # Accepted ETA_PMT_IAE values ('P' paid, 'A' awaiting payment); empty = no payment filter.
    payment_states: tuple[str, ...] = ("P", "A")
    catalogue_refresh_seconds: float = Field(default=600.0, ge=5.0)
    # Codes per chunk of members:bulk (each chunk: a few queries, read ahead while the previous
    # one is sent; IN lists are split at 1,000 items for Oracle whatever this is).
    bulk_chunk_size: int = Field(default=1000, ge=1, le=10_000)
