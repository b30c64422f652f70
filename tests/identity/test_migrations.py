"""``fusion migrate identity`` builds exactly identity's tables, on PostgreSQL and SQLite, and a
second run changes nothing (``fusion.testing.schema`` compares the database with the models)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fusion.testing.plugin import NewDatabase
from fusion.testing.schema import assert_schema_matches
from launcher.cli import main
from services.identity.models import metadata


async def _migrate(url: str) -> int:
    # Alembic's env runs its own event loop: keep it off this one
    return await asyncio.to_thread(main, ["migrate", "identity", "--database-url", url])


async def test_fusion_migrate_identity_gives_exactly_the_models_tables(
    new_pg_database: NewDatabase,
) -> None:
    url = await new_pg_database()
    assert await _migrate(url) == 0
    await assert_schema_matches(url, metadata)
    assert "identity_plan_history" in metadata.tables  # the lifecycle's history is in the story
    # a second run finds the database at head and changes nothing
    assert await _migrate(url) == 0
    await assert_schema_matches(url, metadata)


async def test_the_history_also_builds_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
    assert await _migrate(url) == 0
    await assert_schema_matches(url, metadata)
