"""Fault test: a slow and failing Moodle under a sync run.

The simulator is served over real HTTP on loopback (so that timeouts are real), enrolment_sync
runs through its app and lifespan on PostgreSQL, with a short read timeout and lease. Faults
armed on chosen functions: an error body without ``errorcode`` (a PHP ``Error``), a call that
times out without being applied, a group creation that lands but whose answer is lost, and
three HTTP 503 in a row on group members (one more than the client retries). The run must
retry what is safe to retry (the client resends idempotent calls; the run itself, resumed by
the lease watcher, resends the batch in doubt and adopts the group that landed), report what
it cannot do (a row Moodle keeps refusing), and leave the ledger equal to Moodle's state.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from fusion.asgi import HostedApp
from fusion.db import Database
from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import MoodlePhpError, MoodleUnavailable
from fusion.runtime import Seams
from fusion.testing.plugin import NewDatabase
from fusion.testing.processes import free_port
from fusion.testing.rabbit import wait_until
from services.enrolment_sync.app import create_app
from services.enrolment_sync.models import LedgerEnrolment, LedgerGroup, LedgerGroupMember
from services.enrolment_sync.settings import Settings
from sim.moodle.app import create_sim_app
from sim.moodle.faults import PHP_ERROR_MESSAGE, Fault
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle
from tests.enrolment_sync.fake_apogee import FakeApogee
from tests.enrolment_sync.merged import TOKEN, merged_platform
from tests.faults.sync_world import code_of, course_with_students
from tests.figures import report as report_figures

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ADMIN = {"Authorization": "Bearer demo-admin"}
COURSES = 3
PER_COURSE = 12
READ_TIMEOUT = 0.5
RUN_SECONDS = 25.0


@asynccontextmanager
async def _served(sim: SimMoodle) -> AsyncIterator[str]:
    """The simulator on a loopback port, in this event loop."""
    port = free_port()
    config = uvicorn.Config(
        create_sim_app(sim),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool | None:
        return True if server.started else None

    try:
        await wait_until(started, seconds=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _world() -> tuple[SimMoodle, Platform, FakeApogee, dict[int, dict[str, int]]]:
    sim = SimMoodle()
    target = merged_platform(sim)
    apogee = FakeApogee()
    courses: dict[int, dict[str, int]] = {}
    for n in range(COURSES):
        course_id, students = course_with_students(
            target, f"FLT{n}", f"Faults {n}", prefix=f"219{n}", count=PER_COURSE
        )
        apogee.codes[f"ELPF{n}"] = code_of(students, groups=True)
        courses[course_id] = students
    return sim, target, apogee, courses


def _settings(database_url: str, moodle: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        database_create_tables=True,
        demo_tokens=True,
        schedule_enabled=False,
        apogee_url="http://apogee",
        moodle_url=f"{moodle}/target",
        moodle_token=TOKEN,
        moodle_max_input_vars=100,  # two enrolment batches
        moodle_concurrency=2,
        run_lease_seconds=1.0,  # the watcher looks for a run to resume every half second
        http_read_timeout_seconds=READ_TIMEOUT,
        course_sync_min_interval_seconds=0,
    )


async def _run(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.post("/sync/v1/runs", json={"kind": "full"}, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run"]["id"]

    async def finished() -> dict[str, Any] | None:
        run: dict[str, Any] = (await client.get(f"/sync/v1/runs/{run_id}", headers=ADMIN)).json()
        return run if run["status"] not in ("planning", "applying") else None

    return await wait_until(finished, seconds=RUN_SECONDS)


def _moodle_state(
    target: Platform, courses: dict[int, dict[str, int]]
) -> tuple[set[tuple[int, int]], dict[tuple[int, str], int], set[tuple[int, str, int]]]:
    enrolled = {(c, u) for c in courses for u in target.enrolled_userids(c)}
    groups: dict[tuple[int, str], int] = {}
    members = set()
    for group in target.groups.values():
        key = (group.courseid, group.idnumber)
        assert key not in groups, f"group {key} created twice"
        groups[key] = group.id
        members |= {(group.courseid, group.idnumber, u) for u in group.members}
    return enrolled, groups, members


async def _ledger(
    db: Database,
) -> tuple[set[tuple[int, int]], dict[tuple[int, str], int], set[tuple[int, str, int]]]:
    async with db.session() as session:
        enrolments = (await session.execute(select(LedgerEnrolment))).scalars().all()
        groups = (await session.execute(select(LedgerGroup))).scalars().all()
        members = (await session.execute(select(LedgerGroupMember))).scalars().all()
    assert all(not e.suspended for e in enrolments)
    return (
        {(e.course_id, e.user_id) for e in enrolments},
        {(g.course_id, g.idnumber): g.group_id for g in groups},
        {(m.course_id, m.idnumber, m.user_id) for m in members},
    )


def _failed_attempts(run: dict[str, Any]) -> list[str]:
    return [str(w["cause"]) for w in run["warnings"] if w["kind"] == "attempt_failed"]


async def test_a_slow_and_failing_moodle_is_retried_reported_and_the_ledger_stays_true(
    new_pg_database: NewDatabase, pytestconfig: pytest.Config
) -> None:
    sim, target, apogee, courses = _world()
    faults = [
        sim.faults.arm(Fault("target", "enrol_manual_enrol_users", "php_error")),
        sim.faults.arm(Fault("target", "enrol_manual_enrol_users", "timeout", skip=1, seconds=1.0)),
        sim.faults.arm(Fault("target", "core_enrol_get_enrolled_users", "latency", seconds=0.2)),
        sim.faults.arm(
            Fault("target", "core_group_create_groups", "lost_answer", seconds=2 * READ_TIMEOUT)
        ),
        sim.faults.arm(
            Fault("target", "core_group_add_group_members", "http_error", times=3, status=503)
        ),
    ]
    database_url = await new_pg_database("syncfaults")
    async with _served(sim) as moodle:
        app = create_app(
            _settings(database_url, moodle), seams=Seams(transports={"apogee": apogee.transport()})
        )
        async with HostedApp(app).running() as hosted:
            transport = httpx.ASGITransport(app=hosted)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                for n, course in enumerate(courses):
                    body = {"course_id": course, "code": f"ELPF{n}", "groups": True}
                    created = await client.post("/sync/v1/methods", json=body, headers=ADMIN)
                    assert created.status_code == 201, created.text
                run = await _run(client)
                assert run["status"] == "completed", run
                assert run["counts"]["failed"] == 0, run
                db = Database(database_url)
                try:
                    first = await _check(db, target, courses)
                    attempts = _failed_attempts(run)
                    # One more row, refused by Moodle at every try: reported, never recorded.
                    course = next(iter(courses))
                    newcomer = target.add_user(
                        "u21999999", "Prénom", "Nom", "late@etu.example.edu", idnumber="21999999"
                    )
                    apogee.codes["ELPF0"].members["21999999"] = ("Nom", "Prénom")
                    stubborn = sim.faults.arm(
                        Fault("target", "enrol_manual_enrol_users", "php_error", times=10)
                    )
                    second = await _run(client)
                    assert second["status"] == "completed", second
                    assert second["counts"]["failed"] == 1, second
                    results = (
                        await client.get(f"/sync/v1/runs/{second['id']}/courses", headers=ADMIN)
                    ).json()["data"]
                    (report,) = [r for r in results if r["course_id"] == course]
                    assert report["status"] == "failed"
                    assert report["errors"][0]["message"] == PHP_ERROR_MESSAGE
                    assert report["errors"][0]["errorcode"] == ""
                    assert newcomer.id not in target.enrolled_userids(course)
                    await _check(db, target, courses)
                finally:
                    await db.dispose()
    hits = {f"{f.function}:{f.kind}": f.hits for f in faults}
    assert all(f.times == 0 for f in faults), hits  # every fault was met
    assert stubborn.hits == 1  # a single row: nothing to bisect, refused once and reported
    # create_groups is not resent by the client (a resend could create twice): the run was.
    assert any("core_group_create_groups" in cause for cause in attempts), attempts
    assert any("core_group_add_group_members" in cause for cause in attempts), attempts
    figures = {
        "faults_hit": sum(hits.values()),
        "attempts_failed": len(attempts),
        "enrolments": first,
        "lost": 0,
        "rows_reported_failed": second["counts"]["failed"],
    }
    line = " ".join(f"{k}={v}" for k, v in figures.items())
    hits_json = json.dumps(hits, sort_keys=True)
    report_figures(pytestconfig, f"sync-moodle-faults {line} hits={hits_json}")
    log.warning("sync under a failing Moodle: %s", json.dumps(figures))


async def _check(db: Database, target: Platform, courses: dict[int, dict[str, int]]) -> int:
    """Moodle holds what Apogée wants, and the ledger says exactly what Moodle holds."""
    enrolled, groups, members = _moodle_state(target, courses)
    wanted = {(c, u) for c, students in courses.items() for u in students.values()}
    assert enrolled == wanted, (wanted - enrolled, enrolled - wanted)
    assert {idnumber for _, idnumber in groups} == {"TD1", "TD2"}
    assert len(groups) == 2 * len(courses)
    assert len(members) == len(wanted)
    assert await _ledger(db) == (enrolled, groups, members)
    return len(enrolled)


async def test_faults_are_armed_read_and_disarmed_over_http() -> None:
    """Other processes arm the simulator through ``_sim/faults``; a bad fault is a 400."""
    sim, _, _, _ = _world()
    transport = httpx.ASGITransport(app=create_sim_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        bad = await http.post("/target/_sim/faults", json=[{"function": "x", "kind": "melt"}])
        assert bad.status_code == 400
        armed = await http.post(
            "/target/_sim/faults",
            json=[
                {"function": "core_webservice_get_site_info", "kind": "php_error"},
                {"function": "core_webservice_get_site_info", "kind": "http_error"},
            ],
        )
        assert [f["kind"] for f in armed.json()] == ["php_error", "http_error"]
        moodle = MoodleClient(base_url="http://sim/target", token=TOKEN, http=http, retries=0)
        with pytest.raises(MoodlePhpError) as refused:
            await moodle.get_site_info()  # an error body without errorcode
        assert refused.value.errorcode == ""
        with pytest.raises(MoodleUnavailable):
            await moodle.get_site_info()  # HTTP 500
        assert (await moodle.get_site_info())["sitename"] == "Target"  # both spent
        hits = (await http.get("/target/_sim/faults")).json()
        assert [f["hits"] for f in hits] == [1, 1]
        await http.post("/target/_sim/faults", json=[{"function": "x", "kind": "timeout"}])
        assert (await http.delete("/target/_sim/faults")).json() == []
