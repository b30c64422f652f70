"""Fault test: PostgreSQL cut away from enrolment_sync while a full run applies its batches.

enrolment_sync runs through its app and lifespan, its database reached through a TCP proxy
(the real PostgreSQL is never stopped) and its bus on the real RabbitMQ. Once the run is
applying, the proxy is cut until the run's executor has failed on it (the batch in flight
landed in Moodle but could not be recorded), then restored. Nobody restarts anything: the
lease watcher must take the run over once its lease runs out and finish it, resending only
the batches not recorded. Moodle is the judge: nothing lost, no group twice, and the ledger
says exactly what Moodle holds.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from fusion.asgi import HostedApp
from fusion.bus import RabbitBus
from fusion.db import Database
from fusion.runtime import Seams
from fusion.testing.plugin import NewDatabase
from fusion.testing.postgres import through_port
from fusion.testing.rabbit import RABBIT_URL, TcpProxy, wait_until
from services.enrolment_sync.app import create_app
from services.enrolment_sync.models import LedgerEnrolment, LedgerGroup, LedgerGroupMember
from services.enrolment_sync.settings import Settings
from sim.moodle.app import create_sim_app
from sim.moodle.faults import Fault
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle
from tests.enrolment_sync.fake_apogee import FakeApogee
from tests.enrolment_sync.merged import TOKEN, merged_platform
from tests.faults.sync_world import code_of, course_with_students
from tests.figures import report

from .test_sync_broker_cut import delete_bus_objects

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

ADMIN = {"Authorization": "Bearer demo-admin"}
COURSES = 12
PER_COURSE = 10
WAIT_SECONDS = 20.0
WRITES = ("enrol_manual_enrol_users", "core_group_create_groups", "core_group_add_group_members")


def _world() -> tuple[SimMoodle, Platform, FakeApogee, dict[int, set[int]]]:
    sim = SimMoodle()
    target = merged_platform(sim)
    apogee = FakeApogee()
    courses: dict[int, set[int]] = {}
    for n in range(COURSES):
        course_id, students = course_with_students(
            target, f"PGC{n}", f"Database {n}", prefix=f"23{n:02d}", count=PER_COURSE
        )
        apogee.codes[f"ELPD{n:02d}"] = code_of(students, groups=True)
        courses[course_id] = set(students.values())
    for function in WRITES:  # each write takes a while, so that the cut falls inside the run
        sim.faults.arm(Fault("target", function, "latency", times=10_000, seconds=0.2))
    return sim, target, apogee, courses


async def test_a_full_sync_resumes_by_itself_after_a_database_cut(
    new_pg_database: NewDatabase, caplog: pytest.LogCaptureFixture, pytestconfig: pytest.Config
) -> None:
    sim, target, apogee, courses = _world()
    direct = await new_pg_database("syncpgcut")
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    prefix = f"fusion_test.{uuid.uuid4().hex[:10]}"
    exchange = f"{prefix}.events"
    bus = RabbitBus(RABBIT_URL, exchange=exchange, reconnect_interval=0.2)
    settings = Settings(
        environment="test",
        database_url=through_port(direct, proxy.port),
        database_create_tables=True,
        demo_tokens=True,
        schedule_enabled=False,
        bus_url=RABBIT_URL,
        bus_exchange=exchange,
        bus_queue_prefix=f"{prefix}.",
        apogee_url="http://apogee",
        moodle_url="http://sim/target",
        moodle_token=TOKEN,
        moodle_max_input_vars=100,
        moodle_concurrency=2,
        run_lease_seconds=1.0,  # the watcher looks every half second
    )
    seams = Seams(
        bus=bus,
        transports={
            "apogee": apogee.transport(),
            "moodle": httpx.ASGITransport(app=create_sim_app(sim)),
        },
    )
    db = Database(direct)  # the test's own view, around the proxy
    try:
        async with HostedApp(create_app(settings, seams=seams)).running() as hosted:
            transport = httpx.ASGITransport(app=hosted)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                figures = await _scenario(client, proxy, sim, courses, caplog)
        await _check(db, target, courses)
    finally:
        await db.dispose()
        await bus.close()
        await proxy.close()
        await delete_bus_objects(prefix, exchange)
    report(pytestconfig, "sync-database-cut " + " ".join(f"{k}={v}" for k, v in figures.items()))
    log.warning("sync database cut: %s", json.dumps(figures))


async def _scenario(
    client: httpx.AsyncClient,
    proxy: TcpProxy,
    sim: SimMoodle,
    courses: dict[int, set[int]],
    caplog: pytest.LogCaptureFixture,
) -> dict[str, Any]:
    for n, course in enumerate(sorted(courses)):
        body = {"course_id": course, "code": f"ELPD{n:02d}", "groups": True}
        created = await client.post("/sync/v1/methods", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
    answer = await client.post("/sync/v1/runs", json={"kind": "full"}, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run"]["id"]

    async def mid_apply() -> dict[str, Any] | None:
        run: dict[str, Any] = (await client.get(f"/sync/v1/runs/{run_id}", headers=ADMIN)).json()
        assert run["status"] in ("planning", "applying"), run
        applied, planned = run["batches_applied"], run["batches_planned"]
        return run if 1 <= applied < planned else None

    at_cut = await wait_until(mid_apply, seconds=WAIT_SECONDS)
    with caplog.at_level(logging.ERROR, logger="services.enrolment_sync.runner"):
        proxy.cut()

        async def crashed() -> bool | None:
            return True if any("crashed" in r.getMessage() for r in caplog.records) else None

        try:
            await wait_until(crashed, seconds=WAIT_SECONDS)  # the executor met the outage
            outage = await client.get("/sync/readyz")
            assert outage.status_code == 503, outage.text
        finally:
            proxy.restore()

    async def finished() -> dict[str, Any] | None:
        answer = await client.get(f"/sync/v1/runs/{run_id}", headers=ADMIN)
        if answer.status_code != 200:
            return None  # the pool may still be finding its feet
        run: dict[str, Any] = answer.json()
        return run if run["status"] not in ("planning", "applying") else None

    run = await wait_until(finished, seconds=WAIT_SECONDS)
    assert run["status"] == "completed", run
    assert run["batches_applied"] == run["batches_planned"], run
    assert run["counts"]["failed"] == 0, run
    written = {name: c["rows"] for name, c in sim.counters("target").items() if name in WRITES}
    wanted_rows = sum(len(users) for users in courses.values())
    needed = {
        "enrol_manual_enrol_users": wanted_rows,
        "core_group_create_groups": 2 * len(courses),
        "core_group_add_group_members": wanted_rows,
    }
    resent = {name: written.get(name, 0) - rows for name, rows in needed.items()}
    assert all(extra >= 0 for extra in resent.values()), (written, needed)
    return {
        "batches_planned": run["batches_planned"],
        "batches_applied_at_cut": at_cut["batches_applied"],
        "rows_resent": sum(resent.values()),
        "enrolments": wanted_rows,
        "lost": 0,
    }


async def _check(db: Database, target: Platform, courses: dict[int, set[int]]) -> None:
    enrolled = {(c, u) for c in courses for u in target.enrolled_userids(c)}
    wanted = {(c, u) for c, users in courses.items() for u in users}
    assert enrolled == wanted, (wanted - enrolled, enrolled - wanted)
    groups: dict[tuple[int, str], int] = {}
    members = set()
    for group in target.groups.values():
        key = (group.courseid, group.idnumber)
        assert key not in groups, f"group {key} created twice"
        groups[key] = group.id
        members |= {(group.courseid, group.idnumber, u) for u in group.members}
    assert len(groups) == 2 * len(courses)
    async with db.session() as session:
        ledger = (await session.execute(select(LedgerEnrolment))).scalars().all()
        ledger_groups = (await session.execute(select(LedgerGroup))).scalars().all()
        ledger_members = (await session.execute(select(LedgerGroupMember))).scalars().all()
    assert {(e.course_id, e.user_id) for e in ledger if not e.suspended} == enrolled
    assert {(g.course_id, g.idnumber): g.group_id for g in ledger_groups} == groups
    assert {(m.course_id, m.idnumber, m.user_id) for m in ledger_members} == members
