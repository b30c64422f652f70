"""A platform's backup slots: one migration holds at most one, whatever the database."""

from __future__ import annotations

from fusion.db import Database
from services.migration_orchestrator.migrations.models import metadata
from services.migration_orchestrator.scheduling.slots import ensure_slots, take_slot


async def test_a_second_claim_of_a_migration_already_holding_a_slot_finds_none(
    database_url: str,
) -> None:
    """Two workers may pick the same queued migration on SQLite (no row locks): the second
    claim answers "busy" instead of failing on the slot table's unique migration."""
    database = Database(database_url)
    await database.create_all(metadata)
    try:
        async with database.unit_of_work() as session:
            await ensure_slots(session, {"ub1": 2})
        async with database.unit_of_work() as session:
            assert await take_slot(session, "ub1", 7) == 0
        async with database.unit_of_work() as session:
            assert await take_slot(session, "ub1", 7) is None
            assert await take_slot(session, "ub1", 8) == 1
    finally:
        await database.dispose()
