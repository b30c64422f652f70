"""Idempotent consumers (inbox) on PostgreSQL and SQLite, over RabbitMQ and the in-process bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.bus import Handler, QueueSpec
from fusion.contracts import CourseRestored, Envelope
from fusion.db import Database
from fusion.inbox import PayloadHandler, idempotent_consumer, purge_processed
from fusion.outbox import add_to_outbox
from fusion.testing.rabbit import BusUnderTest, wait_until
from tests.kit.consumer_tables import consumer_tables


@dataclass
class Store:
    db: Database
    inbox: Table
    outbox: Table
    courses: Table

    async def count(self, table: Table) -> int:
        query = select(func.count()).select_from(table)
        async with self.db.session() as session:
            return int((await session.execute(query)).scalar_one())


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    tables, courses = consumer_tables()
    db = Database(database_url)
    await db.create_all(courses.metadata)
    yield Store(db, tables.inbox, tables.outbox, courses)
    await db.dispose()


def course_restored() -> Envelope:
    payload = CourseRestored(
        migration_id=uuid.uuid4(), source_platform="ub2", source_course_id=5, target_course_id=8
    )
    return Envelope.of(payload)


def record_course(store: Store, *, fail_first: int = 0) -> PayloadHandler[CourseRestored]:
    """A handler with a side effect in the database, failing its first ``fail_first`` calls."""
    calls: list[int] = []

    async def handle(payload: CourseRestored, *, session: AsyncSession, envelope: Envelope) -> None:
        calls.append(1)
        await session.execute(insert(store.courses).values(migration_id=str(payload.migration_id)))
        # Chained messages ride in the same transaction as the change.
        follow_up = Envelope.of(payload, correlation_id=envelope.correlation_id)
        await add_to_outbox(session, follow_up, outbox=store.outbox)
        if len(calls) <= fail_first:
            raise RuntimeError("crash after writing, before commit")

    return handle


def consumer(store: Store, handler: PayloadHandler[CourseRestored]) -> Handler:
    return idempotent_consumer(
        handler, CourseRestored, consumer="sync", sessions=store.db.session, inbox=store.inbox
    )


def counting(handler: Handler, settled: asyncio.Queue[str]) -> Handler:
    """Reports each delivery's outcome once the inbox wrapper has committed or rolled back."""

    async def wrapped(envelope: Envelope) -> None:
        try:
            await handler(envelope)
        except Exception:
            settled.put_nowait("failed")
            raise
        settled.put_nowait("done")

    return wrapped


async def test_message_delivered_twice_is_processed_once(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    settled: asyncio.Queue[str] = asyncio.Queue()
    queue = bus_under_test.queue("inbox", "course.restored")
    handler = consumer(store, record_course(store))
    await bus_under_test.bus.subscribe(queue, counting(handler, settled))
    message = course_restored()

    await bus_under_test.bus.publish(message)
    await bus_under_test.bus.publish(message)

    outcomes = [await asyncio.wait_for(settled.get(), 10) for _ in range(2)]
    assert outcomes == ["done", "done"]
    assert await store.count(store.courses) == 1
    assert await store.count(store.inbox) == 1
    assert await store.count(store.outbox) == 1


async def test_failed_handler_rolls_back_and_the_redelivery_commits(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    settled: asyncio.Queue[str] = asyncio.Queue()
    queue = bus_under_test.queue("rollback", "course.restored", delivery_limit=3)
    handler = consumer(store, record_course(store, fail_first=1))
    await bus_under_test.bus.subscribe(queue, counting(handler, settled))

    await bus_under_test.bus.publish(course_restored())

    outcomes = [await asyncio.wait_for(settled.get(), 10) for _ in range(2)]
    assert outcomes == ["failed", "done"]
    assert await store.count(store.courses) == 1
    assert await store.count(store.inbox) == 1
    assert await store.count(store.outbox) == 1


async def test_payload_not_matching_its_contract_is_dead_lettered_untouched(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    queue = bus_under_test.queue("badpayload", "course.restored", delivery_limit=5)
    await bus_under_test.bus.subscribe(queue, consumer(store, record_course(store)))
    broken = Envelope(type="course.restored", payload={"migration_id": "not-a-uuid"})

    await bus_under_test.bus.publish(broken)

    dead = await wait_until(lambda: _dead(bus_under_test, queue))
    assert dead == [broken]
    assert await store.count(store.inbox) == 0
    assert await store.count(store.courses) == 0


async def test_concurrent_duplicates_run_the_handler_effects_once(store: Store) -> None:
    handler = consumer(store, record_course(store))
    message = course_restored()

    await asyncio.gather(*(handler(message) for _ in range(4)))

    assert await store.count(store.courses) == 1
    assert await store.count(store.inbox) == 1


async def test_each_consumer_processes_the_message_once(store: Store) -> None:
    message = course_restored()
    for name in ("sync", "identity", "sync"):
        handler = idempotent_consumer(
            record_course(store),
            CourseRestored,
            consumer=name,
            sessions=store.db.session,
            inbox=store.inbox,
        )
        await handler(message)

    assert await store.count(store.courses) == 2
    assert await store.count(store.inbox) == 2


async def _dead(under_test: BusUnderTest, queue: QueueSpec) -> list[Envelope] | None:
    letters = await under_test.bus.take_dead_letters(queue)
    return [letter.envelope() for letter in letters] or None


async def test_purge_forgets_only_old_processed_ids(store: Store) -> None:
    await consumer(store, record_course(store))(course_restored())

    async with store.db.session() as session:
        kept = await purge_processed(session, inbox=store.inbox, older_than=timedelta(hours=1))
        gone = await purge_processed(session, inbox=store.inbox, older_than=timedelta(0))
        await session.commit()

    assert (kept, gone) == (0, 1)
    assert await store.count(store.inbox) == 0


async def test_connection_lost_mid_handler_still_processes_once(
    store: Store, bus_under_test: BusUnderTest
) -> None:
    if bus_under_test.kind != "rabbit":
        pytest.skip("an in-process delivery cannot lose its connection")
    ends: list[str] = []
    entered, release = asyncio.Event(), asyncio.Event()
    record = record_course(store)

    async def slow(payload: CourseRestored, *, session: AsyncSession, envelope: Envelope) -> None:
        await record(payload, session=session, envelope=envelope)
        entered.set()
        await release.wait()

    inner = consumer(store, slow)

    async def counted(envelope: Envelope) -> None:
        try:
            await inner(envelope)
        except asyncio.CancelledError:
            ends.append("cancelled")
            raise
        ends.append("finished")

    queue = bus_under_test.queue("cut", "course.restored")
    await bus_under_test.bus.subscribe(queue, counted)
    await bus_under_test.bus.publish(course_restored())
    await asyncio.wait_for(entered.wait(), 10)

    # The link dies while the handler holds the delivery. Either the handler finishes and its
    # ack is lost (the inbox absorbs the redelivery) or the closing channel cancels it (all
    # rolled back, the redelivery does the work): both end in exactly one processing.
    async with bus_under_test.outage():
        release.set()
    await wait_until(lambda: _when(len(ends) >= 2 and ends[-1] == "finished"), seconds=30)
    assert await store.count(store.inbox) == 1
    assert await store.count(store.courses) == 1


async def _when(condition: bool) -> bool | None:
    return True if condition else None
