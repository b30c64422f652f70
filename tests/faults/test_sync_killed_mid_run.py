"""Fault test: enrolment_sync killed (SIGKILL) while a full run is applying its batches.

Real processes on loopback ports: apogee_api on a generated Apogée in PostgreSQL, the Moodle
simulator, enrolment_sync on PostgreSQL and RabbitMQ. The sync is killed between its first and
its last batch, started again on the same database, and must finish the run by itself once the
dead process's lease runs out. Then Moodle's own state is the judge: nothing lost, nothing
suspended, no extra enrolment or group; rows written twice (the batches in flight at the kill)
are counted, and a later incremental run writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from bench._apogee_codes import codes_by_size
from fusion.moodle.client import MoodleClient
from fusion.testing.paths import REPO
from fusion.testing.plugin import NewDatabase
from fusion.testing.processes import free_port, running_server
from fusion.testing.rabbit import RABBIT_URL, wait_until
from services.enrolment_sync.consumers import SUBSCRIPTIONS
from sim.apogee.generator import generate
from tests.figures import report

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

METHODS = 300
CODE_STEP = 10  # every 10th live ELP ranked by size: small and large rosters alike
MAX_INPUT_VARS = 150  # small batches (≈ 50 enrolments), so the run lasts long enough to be hit
CONCURRENCY = 4
LEASE_SECONDS = 2
ADMIN = {"Authorization": "Bearer demo-admin"}
WRITES = (
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_group_create_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
)
# Generous: a loaded 2-core machine runs this too.
START_SECONDS = 60.0
RUN_SECONDS = 90.0


@dataclass(frozen=True)
class Wanted:
    enrolments: dict[int, set[str]]  # course → COD_ETUs
    groups: dict[int, set[str]]  # course → group codes
    memberships: dict[tuple[int, str], set[str]]  # (course, group code) → COD_ETUs


@dataclass(frozen=True)
class SyncProcess:
    args: list[str]
    env: dict[str, str]
    log_dir: Path

    @contextmanager
    def start(self, label: str) -> Iterator[tuple[str, Any]]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with running_server(
            [*self.args, "--port", str(port)],
            env=self.env,
            cwd=REPO,
            health_url=f"{base}/sync/healthz",
            timeout=START_SECONDS,
            log_path=self.log_dir / f"sync-{label}.log",
        ) as process:
            yield base, process


async def test_killed_sync_resumes_and_loses_nothing(
    new_pg_database: NewDatabase,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
    pytestconfig: pytest.Config,
) -> None:
    started = time.perf_counter()
    apogee_db = await new_pg_database("apogee")
    await generate(apogee_db, scale="demo")
    codes = (await codes_by_size(apogee_db, with_vets=False))[::CODE_STEP][:METHODS]
    exchange = f"fusion_test.{uuid.uuid4().hex[:10]}.events"
    sync = SyncProcess(
        args=["launcher.cli", "serve", "enrolment_sync"],
        env=await _sync_env(new_pg_database, exchange=exchange),
        log_dir=tmp_path,
    )
    try:
        with ExitStack() as stack:
            apogee = stack.enter_context(_apogee_api(apogee_db, tmp_path))
            sim, courses = stack.enter_context(_simulator(apogee_db, tmp_path))
            sync.env.update(_upstreams(apogee, sim))
            figures = await _scenario(sync, apogee, sim, dict(zip(courses, codes, strict=True)))
    finally:
        await _delete_bus_objects(exchange)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    record_property("figures", json.dumps(figures))  # in the JUnit report
    log.warning("sync killed mid-run: %s", json.dumps(figures))
    report(pytestconfig, "sync-killed-mid-run " + " ".join(f"{k}={v}" for k, v in figures.items()))


async def _scenario(
    sync: SyncProcess, apogee: str, sim: str, methods: dict[int, str]
) -> dict[str, Any]:
    with sync.start("first") as (base, process):
        async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=30) as client:
            await _register(client, methods)
            answer = await client.post("/sync/v1/runs", json={"kind": "full"})
            assert answer.status_code == 202, answer.text
            run_id = answer.json()["run"]["id"]
            at_kill = await _wait_mid_apply(client, run_id)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    with sync.start("second") as (base, _):
        async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=30) as client:
            run = await _wait_status(client, run_id)
            assert run["batches_applied"] == run["batches_planned"], run
            wanted = await _wanted(apogee, methods)
            written = await _counters(sim)
            await _check_moodle(sim, wanted)
            answer = await client.post("/sync/v1/runs", json={"kind": "incremental"})
            assert answer.status_code == 202, answer.text
            await _wait_status(client, answer.json()["run"]["id"])
            assert await _counters(sim) == written, "a run with no change wrote to Moodle"
    duplicates = _duplicates(written, wanted)
    # Only the batches in flight at the kill may be sent again: at most one per worker.
    assert sum(duplicates.values()) <= CONCURRENCY * MAX_INPUT_VARS, duplicates
    return {
        "methods": len(methods),
        "batches_planned": run["batches_planned"],
        "batches_applied_at_kill": at_kill,
        "enrolments": sum(len(users) for users in wanted.enrolments.values()),
        "rows_written": written,
        "rows_written_twice": duplicates,
    }


async def _register(client: httpx.AsyncClient, methods: dict[int, str]) -> None:
    gate = asyncio.Semaphore(8)

    async def one(course: int, code: str) -> None:
        async with gate:
            answer = await client.post(
                "/sync/v1/methods", json={"course_id": course, "code": code, "groups": True}
            )
        assert answer.status_code == 201, answer.text

    await asyncio.gather(*(one(course, code) for course, code in methods.items()))


async def _wait_mid_apply(client: httpx.AsyncClient, run_id: int) -> int:
    async def probe() -> int | None:
        run = (await client.get(f"/sync/v1/runs/{run_id}")).json()
        assert run["status"] in ("planning", "applying"), run
        applied, planned = run["batches_applied"], run["batches_planned"]
        # Well into the run when possible, but any point strictly inside it will do.
        return applied if max(1, planned // 3) <= applied < planned else None

    return await wait_until(probe, seconds=RUN_SECONDS)


async def _wait_status(client: httpx.AsyncClient, run_id: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        run: dict[str, Any] = (await client.get(f"/sync/v1/runs/{run_id}")).json()
        return run if run["status"] not in ("planning", "applying") else None

    run = await wait_until(probe, seconds=RUN_SECONDS)
    assert run["status"] == "completed", run
    assert run["counts"].get("failed", 0) == 0, run
    return run


async def _wanted(apogee: str, methods: dict[int, str]) -> Wanted:
    """What Apogée says each course should hold, read straight from apogee_api."""
    body = {"year": None, "codes": list(methods.values()), "with_groups": True}
    async with httpx.AsyncClient(base_url=apogee, timeout=60) as http:
        answer = await http.post(
            "/apogee/v1/members:bulk", json=body, headers={"Authorization": "Bearer demo-service"}
        )
    assert answer.status_code == 200, answer.text
    lines = {line["code"]: line for line in map(json.loads, answer.text.splitlines())}
    wanted = Wanted({}, {}, {})
    for course, code in methods.items():
        line = lines[code]
        assert line["status"] == "ok", line
        wanted.enrolments[course] = {m["cod_etu"] for m in line["members"]}
        wanted.groups[course] = {g["code"] for g in line["groups"]}
        for group in line["groups"]:
            wanted.memberships[(course, group["code"])] = set(group["members"])
    return wanted


async def _check_moodle(sim: str, wanted: Wanted) -> None:
    """Every course's roster and groups, read through WS, against what Apogée wants."""
    async with httpx.AsyncClient(timeout=60) as http:
        moodle = MoodleClient(base_url=f"{sim}/target", token="target-token", http=http)
        gate = asyncio.Semaphore(8)

        async def course(courseid: int) -> None:
            async with gate:
                everyone = await moodle.get_enrolled_users(courseid, userfields=("id", "idnumber"))
                active = await moodle.get_enrolled_users(courseid, onlyactive=True)
                groups = await moodle.get_course_groups(courseid)
            listed = [user["idnumber"] for user in everyone]
            assert len(listed) == len(set(listed)), f"course {courseid}: a user listed twice"
            assert set(listed) == wanted.enrolments[courseid], f"course {courseid}: roster"
            assert len(active) == len(everyone), f"course {courseid}: suspended students"
            idnumbers = [group["idnumber"] for group in groups]
            assert Counter(idnumbers) == Counter(wanted.groups[courseid]), courseid
            for group in groups:
                async with gate:
                    members = await moodle.get_enrolled_users(
                        courseid, userfields=("id", "idnumber"), groupid=group["id"]
                    )
                # Only students enrolled through the method join its groups.
                expected = wanted.memberships[(courseid, group["idnumber"])]
                expected &= wanted.enrolments[courseid]
                assert {m["idnumber"] for m in members} == expected, group

        await asyncio.gather(*(course(courseid) for courseid in wanted.enrolments))


def _duplicates(written: dict[str, int], wanted: Wanted) -> dict[str, int]:
    """Rows sent beyond what one clean run needs: those Moodle received twice."""
    needed = {
        "enrol_manual_enrol_users": sum(len(u) for u in wanted.enrolments.values()),
        "core_group_create_groups": sum(len(g) for g in wanted.groups.values()),
        "core_group_add_group_members": sum(
            len(users & wanted.enrolments[course])
            for (course, _), users in wanted.memberships.items()
        ),
    }
    assert written.get("enrol_manual_unenrol_users", 0) == 0
    assert written.get("core_group_delete_group_members", 0) == 0
    for function, rows in needed.items():
        assert written.get(function, 0) >= rows, (function, written, needed)
    return {function: written.get(function, 0) - rows for function, rows in needed.items()}


async def _counters(sim: str) -> dict[str, int]:
    async with httpx.AsyncClient(timeout=30) as http:
        counters = (await http.get(f"{sim}/target/_sim/counters")).json()
    return {name: counters[name]["rows"] for name in WRITES if name in counters}


async def _sync_env(new_pg_database: NewDatabase, *, exchange: str) -> dict[str, str]:
    return {
        "FUSION_ENVIRONMENT": "test",
        "FUSION_DEMO_TOKENS": "true",
        "FUSION_LOG_LEVEL": "WARNING",
        "FUSION_BUS_URL": RABBIT_URL,
        "FUSION_SYNC_BUS_EXCHANGE": exchange,
        "FUSION_SYNC_BUS_QUEUE_PREFIX": f"{exchange}.",
        "FUSION_SYNC_DATABASE_URL": await new_pg_database("sync"),
        "FUSION_SYNC_DATABASE_CREATE_TABLES": "true",
        "FUSION_SYNC_SCHEDULE_ENABLED": "false",
        "FUSION_SYNC_MOODLE_MAX_INPUT_VARS": str(MAX_INPUT_VARS),
        "FUSION_SYNC_MOODLE_CONCURRENCY": str(CONCURRENCY),
        "FUSION_SYNC_RUN_LEASE_SECONDS": str(LEASE_SECONDS),
    }


def _upstreams(apogee: str, sim: str) -> dict[str, str]:
    return {
        "FUSION_SYNC_APOGEE_URL": apogee,
        "FUSION_SYNC_APOGEE_TOKEN": "demo-service",
        "FUSION_SYNC_MOODLE_URL": f"{sim}/target",
        "FUSION_SYNC_MOODLE_TOKEN": "target-token",
        "FUSION_SYNC_MOODLE_WELCOME_MESSAGES_OFF": "true",
    }


@contextmanager
def _apogee_api(database: str, logs: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "FUSION_ENVIRONMENT": "test",
        "FUSION_DEMO_TOKENS": "true",
        "FUSION_LOG_LEVEL": "WARNING",
        "FUSION_APOGEE_DATABASE_URL": database,
    }
    with running_server(
        ["launcher.cli", "serve", "apogee_api", "--port", str(port)],
        env=env,
        cwd=REPO,
        health_url=f"{base}/apogee/healthz",
        timeout=START_SECONDS,
        log_path=logs / "apogee.log",
    ):
        yield base


@contextmanager
def _simulator(apogee_db: str, logs: Path) -> Iterator[tuple[str, list[int]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = logs / "sim-courses.json"
    args = [
        "tests.faults.sim_target",
        "--port",
        str(port),
        "--apogee-database",
        apogee_db,
        "--courses",
        str(METHODS),
        "--out",
        str(out),
    ]
    with running_server(
        args,
        cwd=REPO,
        health_url=f"{base}/target/_sim/counters",
        timeout=START_SECONDS,
        log_path=logs / "sim.log",
    ):
        courses: list[int] = json.loads(out.read_text())["courses"]
        yield base, courses


async def _delete_bus_objects(exchange: str) -> None:
    """This run's own exchange and queues (named after it), so the broker keeps nothing."""
    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        channel = await connection.channel()
        for queue in (f"{exchange}.{subscription.queue}" for subscription in SUBSCRIPTIONS):
            for name in (queue, f"{queue}.dlq"):
                await channel.queue_delete(name)
        for name in (exchange, f"{exchange}.dlx"):
            await channel.exchange_delete(name)
