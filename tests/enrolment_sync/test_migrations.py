"""The Alembic history builds exactly the tables the models declare (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from fusion.alembic_env import upgrade
from fusion.db import Database
from services.enrolment_sync.models import metadata

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "enrolment_sync" / "alembic"


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrations_match_the_models(database_url: str) -> None:
    # Alembic's env runs its own event loop: keep it off this one.
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    db = Database(database_url)
    try:
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.dispose()
