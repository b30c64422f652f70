"""Dead letters: listed without being lost, replayed publish-then-remove, on both buses."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.bus import DeadLetter, QueueSpec, UnknownQueue
from fusion.bus.admin import DeadLetterCommand, main, run
from fusion.bus.rabbit import RabbitBus
from fusion.contracts import CourseRestored, Envelope, MigrationRequested
from fusion.db import Database
from fusion.inbox import idempotent_consumer
from fusion.testing.rabbit import RABBIT_URL, BusUnderTest, wait_until
from tests.kit.consumer_tables import consumer_tables


class SimulatedCrash(Exception):
    """The replaying process dies between the confirmed publish and the DLQ removal."""


def course_restored() -> Envelope:
    payload = CourseRestored(
        migration_id=uuid.uuid4(), source_platform="ub2", source_course_id=5, target_course_id=8
    )
    return Envelope.of(payload)


class Switchable:
    """A handler broken until fixed, recording the deliveries it accepted."""

    def __init__(self) -> None:
        self.broken = True
        self.accepted: list[uuid.UUID] = []
        self.attempts = 0

    async def __call__(self, envelope: Envelope) -> None:
        self.attempts += 1
        if self.broken:
            raise RuntimeError("bug in the handler")
        self.accepted.append(envelope.message_id)


async def dead_lettered(under_test: BusUnderTest, queue: QueueSpec) -> list[DeadLetter]:
    async def probe() -> list[DeadLetter] | None:
        return await under_test.bus.peek_dead_letters(queue.name) or None

    return await wait_until(probe)


async def accepted(handler: Switchable, count: int) -> list[uuid.UUID]:
    async def probe() -> list[uuid.UUID] | None:
        return list(handler.accepted) if len(handler.accepted) >= count else None

    return await wait_until(probe)


async def test_listing_dead_letters_keeps_them(bus_under_test: BusUnderTest) -> None:
    queue = bus_under_test.queue("listed", "course.restored", delivery_limit=1)
    await bus_under_test.bus.subscribe(queue, Switchable())
    sent = course_restored()
    await bus_under_test.bus.publish(sent)

    first = await dead_lettered(bus_under_test, queue)
    again = await bus_under_test.bus.peek_dead_letters(queue.name)

    assert [letter.envelope() for letter in first] == [sent]
    assert again == first
    letter = first[0]
    assert letter.routing_key == "course.restored"
    assert letter.reason == "delivery_limit"
    assert letter.first_failed_at is not None
    assert letter.first_failed_at.tzinfo is not None


async def test_replay_after_the_fix_delivers_once_and_empties_the_dlq(
    bus_under_test: BusUnderTest,
) -> None:
    handler = Switchable()
    queue = bus_under_test.queue("replayed", "course.restored", delivery_limit=1)
    await bus_under_test.bus.subscribe(queue, handler)
    sent = course_restored()
    await bus_under_test.bus.publish(sent)
    failed_at = (await dead_lettered(bus_under_test, queue))[0].first_failed_at
    assert handler.attempts == 2
    assert handler.accepted == []

    handler.broken = False
    replay = await bus_under_test.bus.replay_dead_letters(queue.name)

    assert [letter.envelope() for letter in replay.replayed] == [sent]
    assert replay.left == []
    assert await bus_under_test.bus.peek_dead_letters(queue.name) == []
    # A message published after the replay comes after it in the queue: once it is in,
    # anything the replay could have delivered (twice, say) is in too.
    sentinel = course_restored()
    await bus_under_test.bus.publish(sentinel)
    assert await accepted(handler, 2) == [sent.message_id, sentinel.message_id]
    assert failed_at is not None


async def test_a_replayed_message_that_fails_again_keeps_its_first_failure_time(
    bus_under_test: BusUnderTest,
) -> None:
    queue = bus_under_test.queue("refails", "course.restored", delivery_limit=0)
    await bus_under_test.bus.subscribe(queue, Switchable())
    await bus_under_test.bus.publish(course_restored())
    before = (await dead_lettered(bus_under_test, queue))[0]

    await bus_under_test.bus.replay_dead_letters(queue.name)

    async def died_again() -> list[DeadLetter] | None:
        letters = await bus_under_test.bus.peek_dead_letters(queue.name)
        return letters if letters and letters[0].first_failed_at is not None else None

    after = (await wait_until(died_again))[0]
    assert after.body == before.body
    assert before.first_failed_at is not None
    assert after.first_failed_at is not None
    # RabbitMQ's x-death time has a one-second resolution; ours is carried as written.
    assert abs((after.first_failed_at - before.first_failed_at).total_seconds()) < 1


async def test_limit_bounds_a_replay(bus_under_test: BusUnderTest) -> None:
    queue = bus_under_test.queue("bounded", "course.restored", delivery_limit=0)
    await bus_under_test.bus.subscribe(queue, Switchable())
    for _ in range(3):
        await bus_under_test.bus.publish(course_restored())

    async def all_dead() -> list[DeadLetter] | None:
        letters = await bus_under_test.bus.peek_dead_letters(queue.name)
        return letters if len(letters) == 3 else None

    await wait_until(all_dead)
    replay = await bus_under_test.bus.replay_dead_letters(queue.name, limit=2)

    assert len(replay.replayed) == 2
    assert len(await bus_under_test.bus.peek_dead_letters(queue.name, limit=1)) == 1


async def test_unknown_queue_is_reported(bus_under_test: BusUnderTest) -> None:
    with pytest.raises(UnknownQueue):
        await bus_under_test.bus.peek_dead_letters(bus_under_test.queue_name("never"))
    with pytest.raises(UnknownQueue):
        await bus_under_test.bus.replay_dead_letters(bus_under_test.queue_name("never"))


# --- a replay interrupted between publish and removal -------------------------------------


@pytest.fixture
async def inbox_db(tmp_path: Path) -> AsyncIterator[tuple[Database, Table, Table]]:
    tables, courses = consumer_tables()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}")
    await db.create_all(courses.metadata)
    yield db, tables.inbox, courses
    await db.dispose()


async def count(db: Database, table: Table) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_interrupted_replay_leaves_a_duplicate_the_inbox_absorbs(
    bus_under_test: BusUnderTest,
    inbox_db: tuple[Database, Table, Table],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, inbox, courses = inbox_db
    broken = True
    deliveries: list[uuid.UUID] = []

    async def record(payload: CourseRestored, *, session: AsyncSession, **_: Envelope) -> None:
        if broken:
            raise RuntimeError("bug in the handler")
        await session.execute(insert(courses).values(migration_id=str(payload.migration_id)))

    consume = idempotent_consumer(
        record, CourseRestored, consumer="sync", sessions=db.session, inbox=inbox
    )

    async def counted(envelope: Envelope) -> None:
        await consume(envelope)
        deliveries.append(envelope.message_id)

    queue = bus_under_test.queue("interrupted", "course.restored", delivery_limit=0)
    await bus_under_test.bus.subscribe(queue, counted)
    sent = course_restored()
    await bus_under_test.bus.publish(sent)
    await dead_lettered(bus_under_test, queue)
    broken = False

    bus = bus_under_test.bus
    republish = bus.republish

    async def publish_then_crash(name: str, letter: DeadLetter) -> None:
        await republish(name, letter)
        raise SimulatedCrash

    monkeypatch.setattr(bus, "republish", publish_then_crash)
    with pytest.raises(SimulatedCrash):
        await bus.replay_dead_letters(queue.name)
    monkeypatch.undo()

    # Published and confirmed, yet still dead: duplicated, not lost.
    assert [letter.envelope() for letter in await bus.peek_dead_letters(queue.name)] == [sent]
    await wait_until(lambda: _when(len(deliveries) == 1))

    replay = await bus.replay_dead_letters(queue.name)

    assert [letter.envelope() for letter in replay.replayed] == [sent]
    await wait_until(lambda: _when(len(deliveries) == 2))
    assert deliveries == [sent.message_id] * 2
    assert await count(db, courses) == 1
    assert await count(db, inbox) == 1
    assert await bus.peek_dead_letters(queue.name) == []


async def _when(condition: bool) -> bool | None:
    return True if condition else None


# --- foreign bodies and the admin command --------------------------------------------------


@pytest.mark.rabbitmq
async def test_unparseable_dead_letters_are_left_in_place(bus_under_test: BusUnderTest) -> None:
    if not isinstance(bus_under_test.bus, RabbitBus):
        pytest.skip("only a foreign publisher on a real broker can send a malformed body")
    queue = bus_under_test.queue("foreign", "course.restored")
    await bus_under_test.bus.subscribe(queue, Switchable())
    async with await aio_pika.connect(RABBIT_URL) as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(bus_under_test.bus.exchange_name)
        await exchange.publish(aio_pika.Message(b"{not json"), routing_key="course.restored")
    await dead_lettered(bus_under_test, queue)

    replay = await bus_under_test.bus.replay_dead_letters(queue.name)

    assert (replay.replayed, [letter.body for letter in replay.left]) == ([], [b"{not json"])
    letters = await bus_under_test.bus.peek_dead_letters(queue.name)
    assert [(letter.body, letter.reason) for letter in letters] == [(b"{not json", "rejected")]


@pytest.mark.rabbitmq
async def test_admin_command_lists_ids_never_payloads_then_replays(
    bus_under_test: BusUnderTest,
) -> None:
    if not isinstance(bus_under_test.bus, RabbitBus):
        pytest.skip("the admin command talks to a broker")
    handler = Switchable()
    queue = bus_under_test.queue("admin", "migration.requested", delivery_limit=0)
    await bus_under_test.bus.subscribe(queue, handler)
    sent = Envelope.of(
        MigrationRequested(
            migration_id=uuid.uuid4(),
            source_platform="ub2",
            source_course_id=42,
            apogee_codes=["4TPH01"],
            requested_by="jeanne.martin",
        )
    )
    await bus_under_test.bus.publish(sent)
    await dead_lettered(bus_under_test, queue)
    exchange = bus_under_test.bus.exchange_name

    async def command(*argv: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        args = DeadLetterCommand(argv[0], queue.name)  # type: ignore[arg-type]
        status = await run(args, bus=RabbitBus(RABBIT_URL, exchange=exchange), out=out, err=err)
        return status, out.getvalue() + err.getvalue()

    status, listed = await command("list")
    assert status == 0
    assert f"id={sent.message_id} type=migration.requested" in listed
    assert "routing_key=migration.requested" in listed
    assert "reason=delivery_limit" in listed
    assert "jeanne.martin" not in listed
    assert "4TPH01" not in listed

    handler.broken = False
    status, replayed = await command("replay")
    assert status == 0
    assert "1 replayed" in replayed
    assert await accepted(handler, 1) == [sent.message_id]
    assert await bus_under_test.bus.peek_dead_letters(queue.name) == []


def test_admin_command_refuses_the_in_process_bus_and_bad_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FUSION_BUS_URL", "memory://")
    out, err = io.StringIO(), io.StringIO()

    assert main(["dead-letters", "list", "--queue", "sync"], out=out, err=err) == 2
    assert "FUSION_BUS_URL" in err.getvalue()
    assert main(["dead-letters", "replay", "--queue", "sync", "--limit", "0"], err=err) == 2
    assert "--limit" in err.getvalue()


@pytest.mark.rabbitmq
async def test_admin_command_reports_an_unknown_queue(bus_under_test: BusUnderTest) -> None:
    if not isinstance(bus_under_test.bus, RabbitBus):
        pytest.skip("the admin command talks to a broker")
    out, err = io.StringIO(), io.StringIO()
    args = DeadLetterCommand("list", "fusion_test.nope")
    bus = RabbitBus(RABBIT_URL, exchange=bus_under_test.bus.exchange_name)

    assert await run(args, bus=bus, out=out, err=err) == 1
    assert "fusion_test.nope" in err.getvalue()
