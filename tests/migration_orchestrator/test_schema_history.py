"""``fusion migrate migration_orchestrator`` builds exactly the tables the models declare."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fusion.testing.plugin import NewDatabase
from fusion.testing.schema import assert_schema_matches
from launcher.cli import main
from services.migration_orchestrator.migrations.models import metadata


async def test_fusion_migrate_builds_the_models_tables(new_pg_database: NewDatabase) -> None:
    url = await new_pg_database()
    # Alembic's env runs its own event loop: keep it off this one.
    argv = ["migrate", "migration_orchestrator", "--database-url", url]
    assert await asyncio.to_thread(main, argv) == 0
    await assert_schema_matches(url, metadata)
    # a second run finds the database at head and changes nothing
    assert await asyncio.to_thread(main, argv) == 0
    await assert_schema_matches(url, metadata)


async def test_the_history_also_builds_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/orchestrator.db"
    argv = ["migrate", "migration_orchestrator", "--database-url", url]
    assert await asyncio.to_thread(main, argv) == 0
    await assert_schema_matches(url, metadata)
