"""The Alembic history builds exactly the tables the models declare (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fusion.alembic_env import upgrade
from fusion.testing.schema import assert_schema_matches
from services.enrolment_sync.models import metadata

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "enrolment_sync" / "alembic"


async def test_migrations_match_the_models(database_url: str) -> None:
    # Alembic's env runs its own event loop: keep it off this one.
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    await assert_schema_matches(database_url, metadata)
