"""Fault test: every broker connection cut in the middle of a batch of 500 migrations.

Distributed mode on the real components: the orchestrator on PostgreSQL, its outbox relayed to
the real RabbitMQ, the backup and restore workers consuming their queues, all reaching the
broker through the kit's TCP proxy (the machine's RabbitMQ is never stopped). The CLI stand-ins
are the quick shell ones. Once a fifth of the batch is done, every link is cut (in-flight
deliveries unacknowledged, publishes unconfirmed) and restored a moment later.

The judges: the outbox (a row is marked sent only after the broker's confirm) and a hook on
every consumer (a message counts as consumed once its handler returned). Every confirmed
message routed to a queue is consumed (confirmed ⊆ consumed); deliveries beyond the first are
counted, and proven harmless: each migration reaches ``done`` exactly once, and the target holds
exactly one restored course per migration.

500 migrations take minutes on a small shared machine (each runs two shell stand-ins and a
pre-flight analysis): about 8 on 2 cores at a load of 8. ``FUSION_TEST_BROKER_CUT_MIGRATIONS``
sets another size (100 take under a minute there); the figures line names the size run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from sqlalchemy import func, select

from fusion.bus import Consumers, QueueSpec, RabbitBus
from fusion.bus.base import Handler, topic_matches
from fusion.contracts import Envelope
from fusion.db import Database
from fusion.outbox import Backoff
from fusion.settings import MoodlePlatform
from fusion.testing.plugin import NewDatabase
from fusion.testing.rabbit import RABBIT_URL, RabbitNamespace, TcpProxy, wait_until
from services.migration_orchestrator.migrations.models import metadata as orchestrator_metadata
from services.migration_orchestrator.migrations.states import State
from sim.moodle.state import SimMoodle
from tests.figures import report
from tests.migration_orchestrator.test_platform_concurrency import fast_platforms
from tests.migration_orchestrator.world import ADMIN, migration_world

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq, pytest.mark.postgres]
FAST_CLI = Path(__file__).parents[1] / "migration_orchestrator" / "fast_cli"
MIGRATIONS = int(os.environ.get("FUSION_TEST_BROKER_CUT_MIGRATIONS", "500"))
CUT_AFTER_DONE = MIGRATIONS // 5
CUT_SECONDS = 2.0
CONCURRENCY = 8
STALLED_SECONDS = 45.0
BACKUP_LEASE_SECONDS = 20.0


class ObservedBus(RabbitBus):
    """The real RabbitMQ bus, noting what the broker confirmed and what each consumer took."""

    def __init__(self, url: str, *, exchange: str) -> None:
        super().__init__(url, exchange=exchange, reconnect_interval=0.2, publish_timeout=3.0)
        self.confirmed: dict[str, str] = {}  # message id -> type
        self.deliveries: Counter[str] = Counter()  # message id -> handler runs
        self.consumed: set[str] = set()  # handler returned: acknowledged (or to be redelivered)
        self.bindings: list[str] = []

    async def publish(self, envelope: Envelope) -> None:
        await super().publish(envelope)
        self.confirmed[str(envelope.message_id)] = envelope.type

    async def subscribe(self, queue: QueueSpec, handler: Handler) -> Consumers:
        self.bindings += queue.bindings

        async def observed(envelope: Envelope) -> None:
            message_id = str(envelope.message_id)
            self.deliveries[message_id] += 1
            await handler(envelope)
            self.consumed.add(message_id)

        return await super().subscribe(queue, observed)

    def routed(self, message_type: str) -> bool:
        return any(topic_matches(pattern, message_type) for pattern in self.bindings)


def add_courses(sim: SimMoodle, count: int) -> list[int]:
    return [sim["ub1"].add_course(f"CUT-{n:04d}", f"Cours {n}", 1).id for n in range(count)]


async def state_counts(client: httpx.AsyncClient, batch_id: str) -> dict[str, int]:
    counts = {}
    for state in ("done", "failed", "blocked"):
        listing = await client.get(
            "/migrations/v1/migrations",
            params={"batch_id": batch_id, "state": state, "limit": 3},
            headers=ADMIN,
        )
        assert listing.status_code == 200, listing.text
        counts[state] = listing.json()["total"]
        if state != "done" and counts[state]:
            raise AssertionError(listing.json()["items"])
    return counts


async def wait_done(
    client: httpx.AsyncClient, batch_id: str, at_least: int, bus: ObservedBus
) -> int:
    """How many of the batch are done, once at least ``at_least`` are; fails when no message
    was consumed for ``STALLED_SECONDS`` (bounded in time without guessing the machine's
    speed)."""
    done, consumed, progress_at = 0, -1, time.monotonic()
    while True:
        done = (await state_counts(client, batch_id))["done"]
        if done >= at_least:
            return done
        if len(bus.consumed) > consumed:
            consumed, progress_at = len(bus.consumed), time.monotonic()
        elif time.monotonic() - progress_at > STALLED_SECONDS:
            where = {}
            for state in State:
                listing = await client.get(
                    "/migrations/v1/migrations",
                    params={"batch_id": batch_id, "state": state.value, "limit": 1},
                    headers=ADMIN,
                )
                where[state.value] = listing.json()["total"]
            stuck = {state: n for state, n in where.items() if n and state != "done"}
            raise AssertionError(
                f"stalled at {done} of {at_least} done ({consumed} consumed): {stuck}"
            )
        await asyncio.sleep(0.25)


async def delete_queues(prefix: str) -> None:
    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        for name in ("steps", "backup.ub1", "restore"):
            for suffix in ("", ".dlq"):
                channel = await connection.channel()
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.queue_delete(f"{prefix}migration_orchestrator.{name}{suffix}")


async def dead_letters(prefix: str) -> int:
    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        total = 0
        for name in ("steps", "backup.ub1", "restore"):
            channel = await connection.channel()
            queue = await channel.declare_queue(
                f"{prefix}migration_orchestrator.{name}.dlq", passive=True
            )
            total += queue.declaration_result.message_count or 0
        return total


async def test_500_migrations_survive_every_broker_connection_cut(
    new_pg_database: NewDatabase, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    namespace = RabbitNamespace()
    exchange, prefix = namespace.exchange(), f"{namespace.prefix}."
    url = await new_pg_database("brokercut")
    log = tmp_path / "backups.log"
    log.touch()
    proxy = TcpProxy()
    await proxy.start()
    bus = ObservedBus(proxy.url(), exchange=exchange)

    def platforms(sim_url: str) -> list[MoodlePlatform]:
        return fast_platforms(sim_url, log, concurrency=CONCURRENCY)

    try:
        async with (
            bus,
            migration_world(
                url,
                tmp_path,
                bus=bus,
                platforms_for=platforms,
                bus_queue_prefix=prefix,
                lease_watch_seconds=2.0,
                # a claim whose answer was lost is queued again well before the stall limit
                backup_lease_seconds=BACKUP_LEASE_SECONDS,
            ) as world,
        ):
            target_before = len(world.sim["target"].courses)
            courses = add_courses(world.sim, MIGRATIONS)
            await world.start_workers(
                "ub1", bus_queue_prefix=prefix, restore_concurrency=CONCURRENCY
            )
            csv = "source_platform,source_course_id,target_category_id,waive_codes\n" + "".join(
                f"ub1,{course},1,true\n" for course in courses
            )
            answer = await world.client.post(
                "/migrations/v1/migrations:batch",
                content=csv.encode(),
                headers={**ADMIN, "content-type": "text/csv"},
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == MIGRATIONS, answer.json()["refused"][:3]
            batch = answer.json()["batch_id"]
            started = time.monotonic()

            done_at_cut = await wait_done(world.client, batch, CUT_AFTER_DONE, bus)
            in_flight = sum(bus.deliveries.values()) - len(bus.consumed)
            proxy.cut()
            await wait_until(_disconnected(bus), seconds=5)  # the links really dropped
            await asyncio.sleep(CUT_SECONDS)  # the outage itself: nothing to await but time
            proxy.restore()
            done = await wait_done(world.client, batch, MIGRATIONS, bus)
            database = Database(url)
            try:
                # the last events of the batch (done) are relayed and consumed too
                # at least one whole backoff: a row that failed often during the cut (a loaded
                # machine makes the cut long) is tried again up to that much later
                rows = await _settled(database, bus, seconds=Backoff().max_seconds + 30)
                async with database.session() as session:
                    history = orchestrator_metadata.tables["migration_transition"]
                    migrations = orchestrator_metadata.tables["migration"]
                    done_rows = await session.execute(
                        select(history.c.migration_id, func.count())
                        .where(history.c.to_state == "done")
                        .group_by(history.c.migration_id)
                    )
                    reached_done: dict[int, int] = dict(done_rows.all())
                    target_rows = await session.execute(
                        select(migrations.c.target_course_id).where(migrations.c.batch_id == batch)
                    )
                    targets = list(target_rows.scalars().all())
            finally:
                await database.dispose()
            unsent = [row for row in rows if row.sent_at is None]
            sent = [row for row in rows if row.sent_at is not None]
            confirmed = {str(row.message_id) for row in sent if bus.routed(row.type)}
            unrouted = sum(1 for row in sent if not bus.routed(row.type))
            lost = confirmed - bus.consumed
            duplicated = sum(n - 1 for n in bus.deliveries.values() if n > 1)
            restored = [
                course
                for course in world.sim["target"].courses.values()
                if str(course.shortname).startswith("CUT-")
            ]
            dead = await dead_letters(prefix)
            report(
                pytestconfig,
                f"migrations-broker-cut migrations={MIGRATIONS} done={done}"
                f" seconds={time.monotonic() - started:.0f}"
                f" done_at_cut={done_at_cut} in_flight_at_cut={in_flight}"
                f" confirmed={len(confirmed)} consumed={len(bus.consumed & confirmed)}"
                f" duplicated={duplicated} lost={len(lost)} unrouted_events={unrouted}"
                f" unsent={len(unsent)} dead_letters={dead}",
            )
            assert lost == set()
            assert unsent == []
            assert dead == 0
            assert done == MIGRATIONS
            # duplicates were harmless: one done per migration, one course per migration
            assert len(reached_done) == MIGRATIONS
            assert set(reached_done.values()) == {1}
            assert len(set(targets)) == MIGRATIONS
            assert None not in targets
            names = Counter(str(course.shortname) for course in restored)
            twice = sorted(name for name in names if names[name] > 1 or "_" in name)
            if len(restored) != MIGRATIONS:
                story = await _stories(url, world.sim["ub1"], twice)
                raise AssertionError(f"courses restored twice: {twice}\n{story}")
            assert len(world.sim["target"].courses) == target_before + MIGRATIONS
            assert len({c.shortname for c in restored}) == MIGRATIONS
            # the publishes the bus saw confirmed are the outbox's sent rows, none more
            assert set(bus.confirmed) <= {str(r.message_id) for r in rows}
    finally:
        await proxy.close()
        await delete_queues(prefix)
        await namespace.cleanup()


def _disconnected(bus: ObservedBus) -> Callable[[], Awaitable[bool | None]]:
    async def probe() -> bool | None:
        return True if not bus.is_connected else None

    return probe


async def _settled(database: Database, bus: ObservedBus, *, seconds: float) -> list[Any]:
    """The outbox's rows, once none waits and every confirmed routed one was consumed (or the
    time is up: the assertions then name what is missing).

    Each look is linear in the rows (5,000 for 500 migrations: about 15 ms) and leaves the
    event loop a second between looks: the relay whose rows it waits for runs on the same
    loop. A look that searched the rows once per row held the loop for about 11 s, the relay's
    publishes outlasted their timeout, and rows stayed unsent because of the wait."""
    outbox = orchestrator_metadata.tables["fusion_outbox"]
    query = select(outbox.c.message_id, outbox.c.type, outbox.c.sent_at)
    rows: list[Any] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                async with database.session() as session:
                    rows = list((await session.execute(query)).all())
                waiting = any(row.sent_at is None for row in rows)
                routed = {
                    str(row.message_id)
                    for row in rows
                    if row.sent_at is not None and bus.routed(row.type)
                }
                if not waiting and routed <= bus.consumed:
                    return rows
                await asyncio.sleep(1.0)
    return rows


async def _stories(url: str, source: Any, shortnames: list[str]) -> str:
    """What the orchestrator recorded of the migrations whose course was restored twice."""
    by_shortname = {str(course.shortname): course.id for course in source.courses.values()}
    course_ids = [by_shortname.get(name.split("_")[0]) for name in shortnames]
    migrations = orchestrator_metadata.tables["migration"]
    logs = orchestrator_metadata.tables["migration_log"]
    history = orchestrator_metadata.tables["migration_transition"]
    database = Database(url)
    lines = []
    try:
        async with database.session() as session:
            found = await session.execute(
                select(migrations.c.id).where(migrations.c.source_course_id.in_(course_ids))
            )
            for migration_id in found.scalars():
                lines.append(f"migration {migration_id}:")
                for row in await session.execute(
                    select(history.c.at, history.c.from_state, history.c.to_state, history.c.cause)
                    .where(history.c.migration_id == migration_id)
                    .order_by(history.c.id)
                ):
                    lines.append(f"  {row.at} {row.from_state} -> {row.to_state} ({row.cause})")
                for line in await session.execute(
                    select(logs.c.at, logs.c.step, logs.c.message)
                    .where(logs.c.migration_id == migration_id)
                    .order_by(logs.c.id)
                ):
                    lines.append(f"  {line.at} [{line.step}] {line.message[:200]}")
    finally:
        await database.dispose()
    return "\n".join(lines)
