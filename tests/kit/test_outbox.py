"""Transactional outbox on PostgreSQL and SQLite, relayed to RabbitMQ and the in-process bus."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Row, Table, func, select

from fusion.bus import MemoryBus, QueueSpec
from fusion.contracts import Envelope, MigrationRequested, RunBackup
from fusion.db import Database, new_metadata
from fusion.outbox import Backoff, OutboxRelay, add_to_outbox, messaging_tables, purge_sent
from fusion.testing.plugin import NewDatabase
from fusion.testing.rabbit import BusUnderTest, wait_until


@dataclass
class Store:
    db: Database
    outbox: Table


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    db = Database(database_url)
    await db.create_all(metadata)
    yield Store(db, tables.outbox)
    await db.dispose()


def requested() -> Envelope:
    payload = MigrationRequested(
        migration_id=uuid.uuid4(), source_platform="ub1", source_course_id=9, requested_by="t1"
    )
    return Envelope.of(payload)


def relay_for(store: Store, under_test: BusUnderTest, *, batch_size: int = 100) -> OutboxRelay:
    return OutboxRelay(
        sessions=store.db.session,
        bus=under_test.bus,
        outbox=store.outbox,
        batch_size=batch_size,
        poll_interval=0.05,
        backoff=Backoff(base_seconds=0.05, max_seconds=0.2),
    )


async def stage(store: Store, *envelopes: Envelope, commit: bool = True) -> None:
    async with store.db.session() as session:
        for envelope in envelopes:
            await add_to_outbox(session, envelope, outbox=store.outbox)
        if commit:
            await session.commit()
        else:
            await session.rollback()


async def unsent(store: Store) -> int:
    async with store.db.session() as session:
        query = select(func.count()).where(store.outbox.c.sent_at.is_(None))
        return int((await session.execute(query)).scalar_one())


async def collect_into(
    under_test: BusUnderTest, received: list[Envelope], label: str, binding: str = "migration.#"
) -> None:
    async def collect(envelope: Envelope) -> None:
        received.append(envelope)

    queue = under_test.queue(label, binding, prefetch=50)
    await under_test.bus.subscribe(queue, collect)


async def test_only_committed_messages_leave(store: Store, bus_under_test: BusUnderTest) -> None:
    received: list[Envelope] = []
    await collect_into(bus_under_test, received, "committed")
    kept, dropped = requested(), requested()
    await stage(store, dropped, commit=False)
    await stage(store, kept)

    assert await relay_for(store, bus_under_test).relay_once() == 1

    await wait_until(lambda: _some(received))
    assert received == [kept]
    assert await unsent(store) == 0


async def test_a_commit_that_staged_messages_wakes_the_relay(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    """Whoever commits (here a bare session, no unit of work, no ``wake()``), the relay takes
    the message at once instead of at its next poll, an hour away here."""
    received: list[Envelope] = []
    await collect_into(bus_under_test, received, "woken")
    relay = OutboxRelay(
        sessions=store.db.session, bus=bus_under_test.bus, outbox=store.outbox, poll_interval=3600
    )
    first, second = requested(), requested()
    await stage(store, first)
    relay.start()
    try:
        await wait_until(lambda: _some(received), seconds=10)  # its first pass, then it waits
        await stage(store, second)
        await wait_until(lambda: _when(len(received) == 2), seconds=10)
    finally:
        await relay.stop()
    assert [envelope.message_id for envelope in received] == [first.message_id, second.message_id]


async def test_message_staged_while_broker_unreachable_arrives_once_it_is_back(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    received: list[Envelope] = []
    await collect_into(bus_under_test, received, "outage")
    relay = relay_for(store, bus_under_test)
    message = requested()

    async with bus_under_test.outage():
        await stage(store, message)
        assert await relay.relay_once() == 0
        row = await _row(store, message)
        assert row.attempts == 1
        assert row.sent_at is None
        assert row.last_error

    relay.start()
    try:
        await wait_until(lambda: _some(received), seconds=30)
    finally:
        await relay.stop()
    assert {envelope.message_id for envelope in received} == {message.message_id}
    assert await unsent(store) == 0


async def test_a_command_no_queue_takes_stays_pending_with_backoff(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    message = Envelope.of(RunBackup(migration_id=9, platform="ub1"))
    await stage(store, message)
    relay = relay_for(store, bus_under_test)

    assert await relay.relay_once() == 0
    row = await _row(store, message)
    assert (row.attempts, row.sent_at) == (1, None)
    assert row.available_at > row.created_at
    assert (await relay.measure())[0] == 1
    # Once a consumer declares its queue the retry goes through.
    received: list[Envelope] = []
    await collect_into(bus_under_test, received, "late", binding="backup.run.*")
    await wait_until(lambda: _relayed(relay), seconds=10)
    await wait_until(lambda: _some(received))
    assert received == [message]


async def test_an_event_nobody_consumes_is_marked_sent_without_a_warning(
    store: Store, bus_under_test: BusUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    message = requested()  # migration.requested: no queue in this namespace is bound to it
    await stage(store, message)
    relay = relay_for(store, bus_under_test)

    with caplog.at_level(logging.WARNING):
        assert await relay.relay_once() == 1
        assert await relay.measure() == (0, 0.0)
    row = await _row(store, message)
    assert row.sent_at is not None
    assert row.attempts == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_replicas_relay_each_message_once(
    new_pg_database: NewDatabase, bus_under_test: BusUnderTest
) -> None:
    url = await new_pg_database()
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    db = Database(url)
    await db.create_all(metadata)
    store = Store(db, tables.outbox)
    received: list[Envelope] = []
    await collect_into(bus_under_test, received, "replicas")
    messages = [requested() for _ in range(60)]
    await stage(store, *messages)
    relays = [relay_for(store, bus_under_test, batch_size=20) for _ in range(3)]
    try:
        # SKIP LOCKED hands each row to one replica; rows confirmed once are never re-sent.
        for _ in range(5):
            await asyncio.gather(*(relay.relay_once() for relay in relays))
        await wait_until(lambda: _at_least(received, 60))
        assert await unsent(store) == 0
        counts = Counter(envelope.message_id for envelope in received)
        assert set(counts) == {message.message_id for message in messages}
        assert max(counts.values()) == 1
    finally:
        await db.dispose()


async def test_stream_through_an_outage_loses_nothing(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    received: list[Envelope] = []
    await collect_into(bus_under_test, received, "stream")
    relay = relay_for(store, bus_under_test, batch_size=25)
    staged: list[Envelope] = []

    async def stage_batches(count: int) -> None:
        for _ in range(count):
            batch = [requested() for _ in range(10)]
            await stage(store, *batch)
            staged.extend(batch)
            relay.wake()
            await asyncio.sleep(0)

    relay.start()
    try:
        await stage_batches(10)
        async with bus_under_test.outage():
            await stage_batches(5)
            await wait_until(lambda: _failed_attempt(store))
        await stage_batches(5)
        expected = {envelope.message_id for envelope in staged}
        await wait_until(lambda: _when(expected <= {e.message_id for e in received}), seconds=60)
        await wait_until(lambda: _no_unsent(store))
    finally:
        await relay.stop()
    # Jepsen-style: everything committed is consumed; duplicates are allowed, not losses.
    assert len(staged) == 200


async def test_purge_removes_sent_rows_and_keeps_pending_ones(store: Store) -> None:
    bus = MemoryBus()
    await bus.start()
    await bus.subscribe(QueueSpec("purge", ("migration.#",)), _ignore)
    sent, pending = requested(), requested()
    await stage(store, sent)
    relay = OutboxRelay(sessions=store.db.session, bus=bus, outbox=store.outbox)
    assert await relay.relay_once() == 1
    await stage(store, pending)

    async with store.db.session() as session:
        purged = await purge_sent(session, outbox=store.outbox, older_than=timedelta(0))
        await session.commit()

    assert purged == 1
    async with store.db.session() as session:
        left = (await session.execute(select(store.outbox.c.message_id))).scalars().all()
    assert left == [pending.message_id]
    await bus.close()


async def _row(store: Store, envelope: Envelope) -> Row[Any, Any, Any]:
    async with store.db.session() as session:
        query = select(store.outbox).where(store.outbox.c.message_id == envelope.message_id)
        return (await session.execute(query)).one()


async def _failed_attempt(store: Store) -> bool | None:
    table = store.outbox
    query = select(func.count()).where(table.c.attempts > 0, table.c.sent_at.is_(None))
    async with store.db.session() as session:
        return True if (await session.execute(query)).scalar_one() else None


async def _no_unsent(store: Store) -> bool | None:
    return True if await unsent(store) == 0 else None


async def _when(condition: bool) -> bool | None:
    return True if condition else None


async def _some(received: list[Envelope]) -> bool | None:
    return True if received else None


async def _at_least(received: list[Envelope], count: int) -> bool | None:
    return True if len(received) >= count else None


async def _relayed(relay: OutboxRelay) -> bool | None:
    return True if await relay.relay_once() else None


async def _ignore(_: Envelope) -> None:
    return None


async def test_with_the_broker_cut_the_pending_gauges_rise(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    """What the FusionOutboxStuck alert reads: the count and the age of what waits."""
    service = f"outbox-test-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(
        sessions=store.db.session,
        bus=bus_under_test.bus,
        outbox=store.outbox,
        service=service,
        backoff=Backoff(base_seconds=0.05, max_seconds=0.2),
    )

    def gauge(name: str) -> float:
        value = REGISTRY.get_sample_value(name, {"service": service})
        assert value is not None, name
        return value

    received: list[Envelope] = []
    await collect_into(bus_under_test, received, "gauges")
    async with bus_under_test.outage():
        await stage(store, requested(), requested())
        assert await relay.relay_once() == 0
        await relay.measure()
        first_age = gauge("fusion_outbox_oldest_pending_age_seconds")
        assert gauge("fusion_outbox_pending_messages") == 2
        await stage(store, requested())
        await asyncio.sleep(0.05)
        await relay.measure()
        assert gauge("fusion_outbox_pending_messages") == 3
        assert gauge("fusion_outbox_oldest_pending_age_seconds") > first_age > 0

    async def drained() -> bool | None:
        await relay.relay_once()
        return True if await unsent(store) == 0 else None

    await wait_until(drained, seconds=10)
    await relay.measure()
    assert gauge("fusion_outbox_pending_messages") == 0
    assert gauge("fusion_outbox_oldest_pending_age_seconds") == 0
