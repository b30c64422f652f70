"""A platform's backup slots: one migration holds at most one, whatever the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlmodel import col

from fusion.db import Database
from services.migration_orchestrator.migrations.backups import claim_backup
from services.migration_orchestrator.migrations.models import Migration, PlatformSlot, metadata
from services.migration_orchestrator.migrations.states import State
from services.migration_orchestrator.scheduling.slots import (
    ensure_slots,
    release_slot,
    take_slot,
)


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


async def test_a_claim_takes_the_slot_with_its_move_and_the_next_one_is_busy(
    database_url: str,
) -> None:
    """The most urgent queued migration goes to ``backing_up`` holding the free slot; with the
    platform's one slot held, the next claim is "busy", and with nothing queued "idle". On
    PostgreSQL a claim is two statements: the migration and the slot found (both locked), then
    the move, which takes the slot."""
    database = Database(database_url)
    await database.create_all(metadata)
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    try:
        async with database.unit_of_work() as session:
            await ensure_slots(session, {"ub1": 1})
            for course, priority in ((3, 1), (4, 0)):
                session.add(
                    Migration(
                        source_platform="ub1",
                        source_course_id=course,
                        target_category_id=2,
                        requested_by="admin",
                        authorised_as="admin",
                        priority=priority,
                        state=State.BACKUP_QUEUED.value,
                    )
                )
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        async with database.unit_of_work() as session:
            first = await claim_backup(session, platform="ub1", worker="w1", lease_seconds=60)
        claim_statements = len(statements)
        async with database.unit_of_work() as session:
            second = await claim_backup(session, platform="ub1", worker="w2", lease_seconds=60)
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
        assert (first.status, first.course_id, second.status) == ("claimed", 4, "busy")
        if not database.is_sqlite:
            assert claim_statements == 2, statements
        async with database.read() as session:
            held = (await session.execute(select(col(PlatformSlot.migration_id)))).scalars().all()
            assert held == [first.migration_id]
            claimed = await session.get(Migration, first.migration_id)
            assert claimed is not None
            assert (claimed.state, claimed.worker, claimed.attempts) == ("backing_up", "w1", 1)
        async with database.unit_of_work() as session:  # the slot freed, the other one queued
            await release_slot(session, first.migration_id or 0)
            await session.execute(
                update(Migration)
                .where(col(Migration.state) == State.BACKUP_QUEUED.value)
                .values(state=State.CANCELLED.value)
            )
        async with database.unit_of_work() as session:
            third = await claim_backup(session, platform="ub1", worker="w3", lease_seconds=60)
        assert third.status == "idle"
    finally:
        await database.dispose()
