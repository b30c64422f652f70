"""Bus contract: the same tests against the real RabbitMQ and the in-process bus."""

from __future__ import annotations

import asyncio
import gc
import uuid

import aio_pika
import pytest
from prometheus_client import REGISTRY

from fusion.bus import (
    BusError,
    BusUnavailable,
    DeadLetter,
    Handler,
    MessageUnroutable,
    PoisonMessage,
    QueueSpec,
    create_bus,
    topic_matches,
)
from fusion.bus.memory import MemoryBus
from fusion.bus.rabbit import RabbitBus
from fusion.contracts import Envelope, MigrationRequested, RunBackup
from fusion.testing.rabbit import RABBIT_URL, BusUnderTest, TcpProxy, wait_until


def migration_requested() -> Envelope:
    payload = MigrationRequested(
        migration_id=uuid.uuid4(),
        source_platform="ub2",
        source_course_id=42,
        apogee_codes=["4TPH01"],
        requested_by="teacher-7",
    )
    return Envelope.of(payload, correlation_id="req-123")


def backup_run(platform: str) -> Envelope:
    return Envelope.of(RunBackup(migration_id=7, platform=platform))


async def take_dead(under_test: BusUnderTest, queue: QueueSpec) -> list[DeadLetter] | None:
    return await under_test.bus.take_dead_letters(queue) or None


async def test_round_trip_delivers_the_confirmed_envelope(bus_under_test: BusUnderTest) -> None:
    received: asyncio.Queue[Envelope] = asyncio.Queue()
    queue = bus_under_test.queue("roundtrip", "migration.*")
    await bus_under_test.bus.subscribe(queue, lambda envelope: received.put(envelope))
    sent = migration_requested()

    await bus_under_test.bus.publish(sent)

    got = await asyncio.wait_for(received.get(), timeout=10)
    assert got == sent
    assert MigrationRequested.model_validate(got.payload).source_course_id == 42
    assert got.correlation_id == "req-123"


async def test_stopped_consumers_take_nothing_more_and_the_queue_keeps_it(
    bus_under_test: BusUnderTest,
) -> None:
    bus = bus_under_test.bus
    queue = bus_under_test.queue("stopped", "migration.*")
    first: asyncio.Queue[Envelope] = asyncio.Queue()
    consumers = await bus.subscribe(queue, lambda envelope: first.put(envelope))
    await bus.publish(migration_requested())
    await asyncio.wait_for(first.get(), timeout=10)

    await consumers.stop()
    await consumers.stop()  # twice: nothing more
    later = migration_requested()
    await bus.publish(later)
    second: asyncio.Queue[Envelope] = asyncio.Queue()
    await bus.subscribe(queue, lambda envelope: second.put(envelope))

    assert await asyncio.wait_for(second.get(), timeout=10) == later
    assert first.empty()


async def test_topic_patterns_route_like_rabbitmq(bus_under_test: BusUnderTest) -> None:
    seen: dict[str, list[str]] = {"exact": [], "star": [], "hash": []}
    done: dict[str, asyncio.Event] = {name: asyncio.Event() for name in seen}
    sentinel = backup_run("zz")

    def collector(name: str) -> Handler:
        async def collect(envelope: Envelope) -> None:
            if envelope.message_id == sentinel.message_id:
                done[name].set()
            else:
                seen[name].append(envelope.type)

        return collect

    bindings = {
        "exact": ("backup.run.ub2", "backup.run.zz"),
        "star": ("backup.run.*",),
        "hash": ("backup.#",),
    }
    for name, patterns in bindings.items():
        await bus_under_test.bus.subscribe(bus_under_test.queue(name, *patterns), collector(name))

    others = [Envelope(type=key, payload={}) for key in ("backup.archived.ub2.x", "backup")]
    for envelope in [backup_run("ub2"), backup_run("ub3"), *others]:
        await bus_under_test.bus.publish(envelope)
    # Queues are FIFO with one consumer: once the sentinel is in, everything before it is too.
    await bus_under_test.bus.publish(sentinel)
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in done.values())), 10)

    assert seen["exact"] == ["backup.run.ub2"]
    assert seen["star"] == ["backup.run.ub2", "backup.run.ub3"]
    assert seen["hash"] == ["backup.run.ub2", "backup.run.ub3", "backup.archived.ub2.x", "backup"]


async def test_a_command_no_queue_takes_is_refused_an_unheard_event_is_not(
    bus_under_test: BusUnderTest,
) -> None:
    await bus_under_test.bus.subscribe(bus_under_test.queue("other", "sync.*"), _ignore)
    command = RunBackup(migration_id=1, platform="nowhere")

    with pytest.raises(MessageUnroutable):
        await bus_under_test.bus.publish(Envelope.of(command))
    # Nobody listening to a fact is normal: confirmed, and gone.
    await bus_under_test.bus.publish(migration_requested())


async def test_failing_handler_is_redelivered_then_dead_lettered(
    bus_under_test: BusUnderTest,
) -> None:
    attempts: list[uuid.UUID] = []
    queue = bus_under_test.queue("poison", "migration.requested", delivery_limit=2)

    async def always_fails(envelope: Envelope) -> None:
        attempts.append(envelope.message_id)
        raise RuntimeError("the handler is broken")

    await bus_under_test.bus.subscribe(queue, always_fails)
    sent = migration_requested()
    await bus_under_test.bus.publish(sent)

    dead = await wait_until(lambda: take_dead(bus_under_test, queue))
    assert [letter.envelope() for letter in dead] == [sent]
    # First delivery plus ``delivery_limit`` redeliveries, then the dead-letter queue.
    assert attempts == [sent.message_id] * 3


async def test_handler_that_recovers_before_the_limit_is_acked_once(
    bus_under_test: BusUnderTest,
) -> None:
    attempts: list[int] = []
    succeeded = asyncio.Event()
    queue = bus_under_test.queue("flaky", "migration.requested", delivery_limit=3)

    async def fails_twice(_: Envelope) -> None:
        attempts.append(1)
        if len(attempts) <= 2:
            raise RuntimeError("transient")
        succeeded.set()

    await bus_under_test.bus.subscribe(queue, fails_twice)
    await bus_under_test.bus.publish(migration_requested())

    await asyncio.wait_for(succeeded.wait(), 10)
    # A sentinel behind it proves no further redelivery was queued.
    sentinel = migration_requested()
    seen_sentinel = asyncio.Event()
    attempts.clear()

    async def after(envelope: Envelope) -> None:
        if envelope.message_id == sentinel.message_id:
            seen_sentinel.set()

    await bus_under_test.bus.subscribe(queue, after)
    await bus_under_test.bus.publish(sentinel)
    await asyncio.wait_for(seen_sentinel.wait(), 10)
    assert await bus_under_test.bus.take_dead_letters(queue) == []


async def test_poison_message_goes_to_dead_letters_without_retry(
    bus_under_test: BusUnderTest,
) -> None:
    attempts: list[int] = []
    queue = bus_under_test.queue("malformed", "migration.requested", delivery_limit=5)

    async def refuses(_: Envelope) -> None:
        attempts.append(1)
        raise PoisonMessage("payload can never be processed")

    await bus_under_test.bus.subscribe(queue, refuses)
    await bus_under_test.bus.publish(migration_requested())

    dead = await wait_until(lambda: take_dead(bus_under_test, queue))
    assert len(dead) == 1
    assert attempts == [1]
    labels = {"queue": queue.name, "outcome": "dead_letter"}
    assert REGISTRY.get_sample_value("fusion_bus_deliveries_total", labels) == 1


async def test_messages_sent_by_a_handler_carry_its_correlation_id(
    bus_under_test: BusUnderTest,
) -> None:
    follow_ups: asyncio.Queue[Envelope] = asyncio.Queue()
    queue = bus_under_test.queue("correlation", "migration.requested")

    async def reacts(_: Envelope) -> None:
        follow_ups.put_nowait(backup_run("ub2"))

    await bus_under_test.bus.subscribe(queue, reacts)
    await bus_under_test.bus.publish(migration_requested())

    follow_up = await asyncio.wait_for(follow_ups.get(), 10)
    assert follow_up.correlation_id == "req-123"


async def test_unparseable_body_is_dead_lettered(bus_under_test: BusUnderTest) -> None:
    if not isinstance(bus_under_test.bus, RabbitBus):
        pytest.skip("only a foreign publisher on a real broker can send a malformed body")
    queue = bus_under_test.queue("garbage", "migration.requested")
    await bus_under_test.bus.subscribe(queue, _ignore)
    # A foreign publisher: nothing in Fusion can build an invalid envelope.
    async with await aio_pika.connect(RABBIT_URL) as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(bus_under_test.bus.exchange_name)
        await exchange.publish(aio_pika.Message(b"{not json"), routing_key="migration.requested")

    dead = await wait_until(lambda: take_dead(bus_under_test, queue))
    assert dead[0].body == b"{not json"


async def test_redeclaring_a_queue_with_another_limit_is_refused(
    bus_under_test: BusUnderTest,
) -> None:
    queue = bus_under_test.queue("strict", "sync.run", delivery_limit=2)
    await bus_under_test.bus.subscribe(queue, _ignore)
    changed = QueueSpec(queue.name, queue.bindings, delivery_limit=7)

    with pytest.raises(BusError, match="strict"):
        await bus_under_test.bus.subscribe(changed, _ignore)


async def _ignore(_: Envelope) -> None:
    return None


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.#", "a", True),
        ("a.#", "a.b.c", True),
        ("#", "anything.at.all", True),
        ("#.c", "c", True),
        ("a.#.c", "a.c", True),
        ("a.#.c", "a.b.b.c", True),
        ("a.#.c", "a.b.d", False),
        ("*.b", "b", False),
    ],
)
def test_topic_matching(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def test_create_bus_chooses_the_implementation_by_scheme() -> None:
    assert isinstance(create_bus("memory://"), MemoryBus)
    assert isinstance(create_bus("amqp://guest:guest@127.0.0.1:5672/"), RabbitBus)
    with pytest.raises(ValueError, match="unsupported"):
        create_bus("redis://127.0.0.1")


@pytest.mark.rabbitmq
async def test_rabbit_bus_reports_an_unreachable_broker_at_start(tcp_proxy: TcpProxy) -> None:
    tcp_proxy.cut()
    bus = RabbitBus(tcp_proxy.url(), exchange="fusion_test.unreachable")

    with pytest.raises(BusUnavailable):
        await bus.start()
    assert not bus.is_connected
    # The failed attempt is closed, not left to a finaliser that would schedule its close()
    # from wherever the garbage collector happens to run.
    gc.collect()
    attempts = [
        o
        for o in gc.get_objects()
        if isinstance(o, aio_pika.RobustConnection) and o.url.port == tcp_proxy.port
    ]
    assert attempts == [] or all(o.is_closed for o in attempts)
