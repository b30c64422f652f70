"""A migration's move is announced with its reason in both languages, as its row keeps it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from fusion.contracts import Envelope, MigrationStateChanged
from fusion.db import Database
from services.migration_orchestrator.migrations import restores
from services.migration_orchestrator.migrations.backups import (
    NotYourBackup,
    backup_stored,
    held_backup,
)
from services.migration_orchestrator.migrations.lifecycle import StateMoved, transition
from services.migration_orchestrator.migrations.models import (
    Migration,
    MigrationLog,
    messaging,
    metadata,
)
from services.migration_orchestrator.migrations.restores import restore_done, restoring
from services.migration_orchestrator.migrations.states import State
from services.migration_orchestrator.scheduling.slots import (
    ensure_slots,
    running_by_platform,
    take_slot,
)
from services.migration_orchestrator.store import StoredBackup


def a_migration(state: State, **columns: Any) -> Migration:
    """A migration of course 3 of ub1 in ``state``, requested by an administrator."""
    return Migration(
        source_platform="ub1",
        source_course_id=3,
        target_category_id=2,
        requested_by="admin",
        authorised_as="admin",
        state=state.value,
        **columns,
    )


async def test_a_blocked_migration_announces_its_reason_in_french_and_english(
    database_url: str,
) -> None:
    database = Database(database_url)
    await database.create_all(metadata)
    try:
        async with database.unit_of_work() as session:
            migration = a_migration(State.ANALYSED)
            session.add(migration)
            await session.flush()
            await transition(
                session,
                migration,
                State.BLOCKED,
                cause="step",
                reason="jdupont: same username, other e-mail",
                reason_fr="jdupont : même identifiant, autre adresse",
            )
        async with database.session() as session:
            query = select(messaging.outbox.c.envelope).where(
                messaging.outbox.c.type == MigrationStateChanged.type
            )
            [sent] = (await session.execute(query)).scalars()
        changed = MigrationStateChanged.model_validate(Envelope.model_validate_json(sent).payload)
        assert (changed.state, changed.step) == ("blocked", "identity")
        assert changed.reason == "jdupont: same username, other e-mail"
        assert changed.reason_fr == "jdupont : même identifiant, autre adresse"
    finally:
        await database.dispose()


async def test_a_restore_report_read_before_a_new_attempt_started_moves_nothing(
    database_url: str,
) -> None:
    """``restore_done`` moves a migration read outside any transaction only if the attempt it
    reports is still the one running (the move is conditional on it, as on the state)."""
    database = Database(database_url)
    await database.create_all(metadata)
    try:
        first = datetime(2026, 9, 1, 8, 0, 0, 123456, tzinfo=UTC)
        async with database.unit_of_work() as session:
            waiting = a_migration(
                State.RESTORING, restore_started_at=first, backup_sha256="0" * 64, backup_bytes=10
            )
            session.add(waiting)
        assert waiting.id is not None
        async with database.read() as session:
            stale = await restoring(session, waiting.id, attempt=first.isoformat(), lock=False)
        async with database.unit_of_work() as session:  # another attempt starts meanwhile
            await session.execute(
                update(Migration)
                .where(col(Migration.id) == waiting.id)
                .values(restore_started_at=first + timedelta(minutes=5))
            )
        with pytest.raises(StateMoved):
            async with database.unit_of_work() as session:
                await restore_done(session, stale, course_id=40)
        async with database.read() as session:
            current = await restoring(session, waiting.id, lock=False)
        async with database.one_statement() as session:
            await restore_done(session, current, course_id=41)
        async with database.read() as session:
            moved = await session.get(Migration, waiting.id)
        assert moved is not None
        assert (moved.state, moved.target_course_id) == (State.POST_RESTORE.value, 41)
    finally:
        await database.dispose()


async def test_a_stored_backup_moves_only_the_claim_it_was_read_under(database_url: str) -> None:
    """``backup_stored`` moves a migration read before the upload only if the same worker
    still holds the same attempt; the slot is released by that move, and only by it."""
    database = Database(database_url)
    await database.create_all(metadata)
    stored = StoredBackup(key="migration-1-attempt-1.mbz", sha256="0" * 64, size=10)
    try:
        async with database.unit_of_work() as session:
            await ensure_slots(session, {"ub1": 1})
            held = a_migration(State.BACKING_UP, worker="w1", attempts=1)
            session.add(held)
            await session.flush()
            assert held.id is not None
            assert await take_slot(session, "ub1", held.id) == 0
        assert held.id is not None
        async with database.read() as session:
            read = await held_backup(session, held.id, worker="w1", lock=False)
        # Meanwhile the lease ran out and another worker claimed a second attempt.
        async with database.unit_of_work() as session:
            await session.execute(
                update(Migration)
                .where(col(Migration.id) == held.id)
                .values(worker="w2", attempts=2)
            )
        with pytest.raises(NotYourBackup):
            await backup_stored(database, read, stored)
        async with database.session() as session:
            again = await held_backup(session, held.id, worker="w2", lock=False)
            assert (again.state, again.backup_key) == (State.BACKING_UP.value, None)
            assert await running_by_platform(session) == {"ub1": 1}  # the slot is still held
        await backup_stored(database, again, stored)
        async with database.session() as session:
            done = await session.get(Migration, held.id)
            assert done is not None
            assert (done.state, done.backup_key) == (State.BACKED_UP.value, stored.key)
            assert await running_by_platform(session) == {}
    finally:
        await database.dispose()


async def test_of_two_restore_starts_that_read_the_same_attempt_one_starts(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start reads the migration outside any transaction, then records its attempt by a
    statement conditional on what it read: two workers starting the same restore at once
    (both read before either wrote) get one attempt, and the second is refused."""
    database = Database(database_url)
    await database.create_all(metadata)
    try:
        async with database.unit_of_work() as session:
            waiting = a_migration(
                State.RESTORING, restore_message="m-1", backup_sha256="0" * 64, backup_bytes=10
            )
            session.add(waiting)
        assert waiting.id is not None
        both_read = asyncio.Barrier(2)
        reads: list[int] = []
        real_restoring = restores.restoring

        async def reading_together(*args: Any, **kwargs: Any) -> Migration:
            migration = await real_restoring(*args, **kwargs)
            reads.append(1)
            if len(reads) <= 2:
                await both_read.wait()
            return migration

        monkeypatch.setattr(restores, "restoring", reading_together)
        outcomes = await asyncio.gather(
            restores.start_restore(database, waiting.id, worker="w1", message="m-1"),
            restores.start_restore(database, waiting.id, worker="w2", message="m-1"),
            return_exceptions=True,
        )
        started = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, restores.NotRestoring)]
        assert (len(started), len(refused)) == (1, 1), outcomes
        ticket, _ = started[0]
        async with database.read() as session:
            now = await real_restoring(session, waiting.id, attempt=ticket.attempt, lock=False)
            lines = (
                await session.execute(
                    select(col(MigrationLog.message)).where(
                        col(MigrationLog.migration_id) == waiting.id
                    )
                )
            ).scalars()
            assert [line for line in lines if line.startswith("restore started")] == [
                f"restore started by {now.worker}"
            ]
    finally:
        await database.dispose()
