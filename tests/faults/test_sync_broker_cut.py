"""Fault test: the broker cut away from enrolment_sync during a full sync.

enrolment_sync runs through its app and lifespan on PostgreSQL and the real RabbitMQ, reached
through a TCP proxy (the machine's broker is never stopped: the proxy aborts every connection
of the service and refuses new ones). The orchestrator's side is played by a publisher that
connects to the broker directly and counts the broker's confirms; a listener on the same
exchange counts the events the service publishes.

Timeline: half the courses' methods arrive by ``enrolment_methods.register``, a ``sync.run``
(full) starts; once it is applying, the proxy is cut; while cut, the other half's methods, a
second full run, and copies of some commands (as a publisher resends when a confirm is lost)
are published; the first run must finish without the broker; then the proxy is restored.

Figures: inbound, every confirmed command is consumed (confirmed ⊆ consumed, by message id in
the inbox), the copies are delivered and absorbed (no second method, no second run); outbound,
every event the relay marked sent reaches the listener (sent ⊆ received), duplicates counted.
Moodle is the judge of enrolments: 0 lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections import Counter
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from prometheus_client import REGISTRY
from sqlalchemy import text

from fusion.asgi import HostedApp
from fusion.bus import QueueSpec, RabbitBus
from fusion.contracts import Envelope, RegisterEnrolmentMethods, RunSync
from fusion.db import Database
from fusion.runtime import Seams
from fusion.testing.plugin import NewDatabase
from fusion.testing.rabbit import RABBIT_URL, TcpProxy, wait_until
from services.enrolment_sync.app import create_app
from services.enrolment_sync.consumers import SUBSCRIPTIONS
from services.enrolment_sync.settings import Settings
from sim.moodle.app import create_sim_app
from sim.moodle.faults import Fault
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle
from tests.enrolment_sync.fake_apogee import FakeApogee
from tests.enrolment_sync.merged import TOKEN, merged_platform
from tests.faults.sync_world import code_of, course_with_students
from tests.figures import report

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

COURSES = 24
PER_COURSE = 10
COPIES = 4  # commands of each half published twice
WAIT_SECONDS = 20.0
ADMIN = {"Authorization": "Bearer demo-admin"}


def _world() -> tuple[SimMoodle, Platform, FakeApogee, dict[int, set[int]]]:
    sim = SimMoodle()
    target = merged_platform(sim)
    apogee = FakeApogee()
    courses: dict[int, set[int]] = {}
    for n in range(COURSES):
        course_id, students = course_with_students(
            target, f"BRK{n}", f"Broker {n}", prefix=f"22{n:02d}", count=PER_COURSE
        )
        apogee.codes[f"ELPB{n:02d}"] = code_of(students, groups=False)
        courses[course_id] = set(students.values())
    # Each enrolment call takes a while, so that the cut falls inside the run.
    sim.faults.arm(
        Fault("target", "enrol_manual_enrol_users", "latency", times=10_000, seconds=0.25)
    )
    return sim, target, apogee, courses


def _register(course: int, n: int, *, sync_now: bool) -> Envelope:
    command = RegisterEnrolmentMethods(
        course_id=course, codes=[f"ELPB{n:02d}"], groups=False, sync_now=sync_now
    )
    return Envelope.of(command)


class Listener:
    """Every message on the exchange, by message id (the commands are left out)."""

    def __init__(self) -> None:
        self.received: Counter[uuid.UUID] = Counter()

    async def __call__(self, envelope: Envelope) -> None:
        if envelope.type not in (RegisterEnrolmentMethods.type, RunSync.type):
            self.received[envelope.message_id] += 1


async def test_a_full_sync_survives_a_broker_cut_and_loses_nothing(
    new_pg_database: NewDatabase, pytestconfig: pytest.Config
) -> None:
    sim, target, apogee, courses = _world()
    prefix = f"fusion_test.{uuid.uuid4().hex[:10]}"
    exchange = f"{prefix}.events"
    database_url = await new_pg_database("syncbroker")
    proxy = TcpProxy()
    await proxy.start()
    service_bus = RabbitBus(proxy.url(), exchange=exchange, reconnect_interval=0.2)
    publisher = RabbitBus(RABBIT_URL, exchange=exchange)
    listener_bus = RabbitBus(RABBIT_URL, exchange=exchange)
    listener = Listener()
    settings = Settings(
        environment="test",
        database_url=database_url,
        database_create_tables=True,
        demo_tokens=True,
        schedule_enabled=False,
        bus_url=proxy.url(),
        bus_exchange=exchange,
        bus_queue_prefix=f"{prefix}.",
        apogee_url="http://apogee",
        moodle_url="http://sim/target",
        moodle_token=TOKEN,
        moodle_max_input_vars=100,
        moodle_concurrency=2,
    )
    seams = Seams(
        bus=service_bus,
        transports={
            "apogee": apogee.transport(),
            "moodle": httpx.ASGITransport(app=create_sim_app(sim)),
        },
    )
    db = Database(database_url)
    try:
        await publisher.start()
        await listener_bus.start()
        await listener_bus.subscribe(QueueSpec(f"{prefix}.listener", ("#",)), listener)
        async with HostedApp(create_app(settings, seams=seams)).running() as hosted:
            transport = httpx.ASGITransport(app=hosted)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                figures = await _scenario(client, db, proxy, publisher, courses, listener, prefix)
        await _check_moodle(target, courses)
    finally:
        await db.dispose()
        for bus in (service_bus, publisher, listener_bus):
            await bus.close()
        await proxy.close()
        await delete_bus_objects(prefix, exchange)
    report(pytestconfig, "sync-broker-cut " + " ".join(f"{k}={v}" for k, v in figures.items()))
    log.warning("sync broker cut: %s", json.dumps(figures))


async def _scenario(
    client: httpx.AsyncClient,
    db: Database,
    proxy: TcpProxy,
    publisher: RabbitBus,
    courses: dict[int, set[int]],
    listener: Listener,
    prefix: str,
) -> dict[str, Any]:
    ids = sorted(courses)
    half = COURSES // 2
    first = [_register(c, n, sync_now=False) for n, c in enumerate(ids[:half])]
    # Queues are consumed independently: a course registered while the link is down is synced
    # by the run its own command asks for (as the orchestrator does), whatever comes first.
    second = [_register(c, n + half, sync_now=True) for n, c in enumerate(ids[half:])]
    confirmed: list[uuid.UUID] = []
    sent = 0

    async def publish(envelope: Envelope) -> None:
        nonlocal sent
        await publisher.publish(envelope)  # returns once the broker confirmed it
        confirmed.append(envelope.message_id)
        sent += 1

    deliveries = _acked_deliveries(prefix)
    for envelope in first:
        await publish(envelope)
    await _wait_inbox(db, {e.message_id for e in first})
    one, two = uuid.uuid4(), uuid.uuid4()
    run_one = Envelope.of(RunSync(run_id=one, mode="full"))
    await publish(run_one)
    await _wait_run(client, db, one, applying=True)

    proxy.cut()  # every connection of the service aborted, new ones refused
    run_two = Envelope.of(RunSync(run_id=two, mode="full"))
    for envelope in [*second, *first[:COPIES], *second[:COPIES], run_two, run_two]:
        await publish(envelope)
    # The run under way needs no broker: it finishes while the link is down.
    finished_cut = await _wait_run(client, db, one)
    proxy.restore()

    await _wait_inbox(db, set(confirmed))
    finished = await _wait_run(client, db, two)
    runs = await _wait_all_runs(client, 2 + len(second))
    outbox_sent = await _wait_outbox_drained(db)
    await wait_until(lambda: _all_received(listener, outbox_sent), seconds=WAIT_SECONDS)

    consumed = await _inbox(db)
    methods = (await client.get("/sync/v1/methods", headers=ADMIN)).json()["count"]
    assert set(confirmed) <= consumed  # confirmed ⊆ consumed
    assert methods == COURSES  # the copies made no second method
    assert len(runs) == 2 + len(second)  # nor a second run
    assert all(run["status"] == "completed" for run in runs), runs
    assert finished_cut["status"] == finished["status"] == "completed"
    assert finished_cut["counts"]["failed"] == finished["counts"]["failed"] == 0
    delivered = _acked_deliveries(prefix) - deliveries
    assert delivered >= len(confirmed)  # every copy was delivered, and absorbed
    received = sum(listener.received.values())
    return {
        "confirmed": len(set(confirmed)),
        "published": sent,
        "consumed": len(consumed & set(confirmed)),
        "duplicated": delivered - len(set(confirmed)),
        "events_sent": len(outbox_sent),
        "events_received": len(listener.received),
        "events_duplicated": received - len(listener.received),
        "enrolments": sum(len(users) for users in courses.values()),
        "lost": 0,
    }


def _acked_deliveries(prefix: str) -> int:
    """Deliveries the service's consumers acknowledged (a copy is delivered, then absorbed)."""
    total = 0.0
    for subscription in SUBSCRIPTIONS:
        labels = {"queue": f"{prefix}.{subscription.queue}", "outcome": "ack"}
        total += REGISTRY.get_sample_value("fusion_bus_deliveries_total", labels) or 0.0
    return int(total)


async def _inbox(db: Database) -> set[uuid.UUID]:
    async with db.session() as session:
        rows = await session.execute(text("SELECT message_id FROM fusion_inbox"))
        return {uuid.UUID(str(message_id)) for (message_id,) in rows.all()}


async def _wait_inbox(db: Database, wanted: set[uuid.UUID]) -> None:
    async def probe() -> bool | None:
        return True if wanted <= await _inbox(db) else None

    await wait_until(probe, seconds=WAIT_SECONDS)


async def _wait_run(
    client: httpx.AsyncClient, db: Database, public_id: uuid.UUID, *, applying: bool = False
) -> dict[str, Any]:
    """The run a ``sync.run`` command created, once applying (or once finished)."""

    async def probe() -> dict[str, Any] | None:
        async with db.session() as session:
            run_id = await session.scalar(
                text("SELECT id FROM sync_run WHERE public_id = :p"), {"p": public_id}
            )
        if run_id is None:
            return None
        run: dict[str, Any] = (await client.get(f"/sync/v1/runs/{run_id}", headers=ADMIN)).json()
        if applying:
            return run if run["status"] == "applying" else None
        return run if run["status"] not in ("planning", "applying") else None

    return await wait_until(probe, seconds=WAIT_SECONDS)


async def _wait_all_runs(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        answer = await client.get("/sync/v1/runs", params={"limit": 100}, headers=ADMIN)
        runs: list[dict[str, Any]] = answer.json()["data"]
        busy = any(run["status"] in ("planning", "applying") for run in runs)
        return runs if len(runs) >= count and not busy else None

    return await wait_until(probe, seconds=WAIT_SECONDS)


async def _wait_outbox_drained(db: Database) -> set[uuid.UUID]:
    async def probe() -> set[uuid.UUID] | None:
        async with db.session() as session:
            rows = (
                await session.execute(text("SELECT message_id, sent_at FROM fusion_outbox"))
            ).all()
        if any(sent_at is None for _, sent_at in rows):
            return None
        return {uuid.UUID(str(message_id)) for message_id, _ in rows}

    return await wait_until(probe, seconds=WAIT_SECONDS)


async def _all_received(listener: Listener, sent: set[uuid.UUID]) -> bool | None:
    return True if sent <= set(listener.received) else None


async def _check_moodle(target: Platform, courses: dict[int, set[int]]) -> None:
    for course, users in courses.items():
        assert target.enrolled_userids(course) == users, f"course {course}: enrolments lost"


async def delete_bus_objects(prefix: str, exchange: str) -> None:
    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        queues = [f"{prefix}.{s.queue}" for s in SUBSCRIPTIONS] + [f"{prefix}.listener"]
        for queue in queues:
            for name in (queue, f"{queue}.dlq"):
                channel = await connection.channel()
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.queue_delete(name)
        for name in (exchange, f"{exchange}.dlx"):
            channel = await connection.channel()
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await channel.exchange_delete(name)
