"""Fault test (issue 12, done-when 4): the orchestrator, then workers, killed (SIGKILL) in the
middle of a migration; after their restart the migration finishes, with one course on the
target.

Distributed configuration: real PostgreSQL (the schema from ``fusion migrate``), real
RabbitMQ, the orchestrator and the platform workers as separate processes, the Moodle
simulator and identity's restore-check stand-in served over loopback HTTP by this process.
The CLI stand-ins take a moment (``slow_cli/slow.sh``) so that the kills land mid-step:

1. the backup CLI is running: the orchestrator is killed, then the backup worker;
2. the orchestrator comes back, a new backup worker too; the dead worker's lease runs out and
   the backup is taken again;
3. the restore CLI is running: the restore worker is killed. Its CLI is left running, an
   orphan, as a real ``php`` would be, and restores a course of its own a moment later;
4. a new restore worker gets the redelivered message and restores again.

Moodle's state is the judge: the migration is ``done``, exactly one new course on the target
(the orphan's is gone), and no restore area left behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from migration_orchestrator.identity_double import restore_check_transport
from migration_orchestrator.test_platform_concurrency import delete_queues
from migration_orchestrator.world import serving
from pydantic import SecretStr

from fusion.settings import MoodlePlatform
from fusion.testing.paths import REPO
from fusion.testing.plugin import NewDatabase
from fusion.testing.processes import free_port
from fusion.testing.rabbit import RABBIT_URL, RabbitNamespace
from launcher.cli import main as fusion
from sim.moodle.app import create_sim_app
from sim.moodle.demo import DEMO_TOKENS, seed_demo
from sim.moodle.state import SimMoodle

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

SLOW = Path(__file__).parent / "slow_cli" / "slow.sh"
FAST_CLI = REPO / "tests" / "migration_orchestrator" / "fast_cli"
CLI_SECONDS = 1.0  # how long each CLI stand-in runs: the window for a kill
LEASE_SECONDS = 3.0
ADMIN = {"Authorization": "Bearer demo-admin"}
V1 = "/migrations/v1/migrations"
# Generous bounds: a loaded 2-core machine runs this too.
START_SECONDS = 60.0
STEP_SECONDS = 60.0


def platforms(sim_url: str, marks: Path) -> list[MoodlePlatform]:
    backup = (
        f"{SLOW} {marks}/backup {CLI_SECONDS} {FAST_CLI / 'backup.sh'} {marks}/backups.log "
        f"{sim_url} ub1 --courseid={{courseid}} --destination={{destination}}"
    )
    restore = (
        f"{SLOW} {marks}/restore {CLI_SECONDS} {FAST_CLI / 'restore.sh'} {sim_url} "
        "--file={file} --categoryid={categoryid}"
    )
    return [
        MoodlePlatform(
            name=name,
            url=f"{sim_url}/{name}",
            token=SecretStr(DEMO_TOKENS[name]),
            backup_command=backup,
            restore_command=restore,
            concurrency=1,
            welcome_messages_off=name == "target",
        )
        for name in ("ub1", "target")
    ]


def identity_app(sim: SimMoodle) -> Any:
    """identity's restore-check stand-in (tests/migration_orchestrator) as an ASGI app."""
    transport = restore_check_transport(sim)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = httpx.Request(scope["method"], f"http://identity{scope['path']}", content=body)
        answer = transport.handle_request(request)
        headers = [(b"content-type", b"application/json")]
        await send(
            {"type": "http.response.start", "status": answer.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": answer.read()})

    return app


@dataclass
class Processes:
    """Our processes, started and killed by name; their logs in ``logs``."""

    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "launcher.cli", *args],
                env={**os.environ, **env},
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.running[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.running.values():
            process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


async def until(probe: Any, *, seconds: float, what: str) -> Any:
    """Poll ``probe`` (async, returns something or None) until it answers: bounded."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"still waiting after {seconds} s for {what}")


def marks(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


async def started_cli(path: Path, count: int) -> list[str] | None:
    """The ``count``-th start of a CLI stand-in (``start PID WORKER_PID``), once it happened."""
    starts = [m for m in marks(path) if m[0] == "start"]
    return starts[count - 1] if len(starts) >= count else None


@asynccontextmanager
async def upstreams(sim: SimMoodle) -> AsyncIterator[tuple[str, str]]:
    async with serving(create_sim_app(sim)) as sim_url, serving(identity_app(sim)) as identity:
        seed_demo(sim, base_url=sim_url)
        yield sim_url, identity


async def test_orchestrator_and_workers_killed_mid_migration(
    new_pg_database: NewDatabase, tmp_path: Path
) -> None:
    namespace = RabbitNamespace()
    exchange, prefix = namespace.exchange(), f"{namespace.prefix}."
    database_url = await new_pg_database()
    migrate = ["migrate", "migration_orchestrator", "--database-url", database_url]
    assert await asyncio.to_thread(fusion, migrate) == 0
    processes = Processes(tmp_path)
    sim = SimMoodle()
    try:
        async with upstreams(sim) as (sim_url, identity_url):
            bus = {"BUS_URL": RABBIT_URL, "BUS_EXCHANGE": exchange, "BUS_QUEUE_PREFIX": prefix}
            await scenario(processes, sim, tmp_path, sim_url, identity_url, database_url, bus)
    finally:
        processes.stop_all()
        await delete_queues(prefix)
        await namespace.cleanup()


async def scenario(
    processes: Processes,
    sim: SimMoodle,
    tmp_path: Path,
    sim_url: str,
    identity_url: str,
    database_url: str,
    bus: dict[str, str],
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configured = platforms(sim_url, tmp_path)
    shared = {
        "FUSION_ENVIRONMENT": "test",
        "FUSION_DEMO_TOKENS": "true",
        "FUSION_LOG_JSON": "false",
    }
    orchestrator_env = shared | {
        f"FUSION_MIGRATIONS_{key}": value
        for key, value in {
            **bus,
            "DATABASE_URL": database_url,
            "PLATFORMS": json.dumps(
                [p.model_dump(mode="json") | {"token": DEMO_TOKENS[p.name]} for p in configured]
            ),
            "STORE_DIR": str(tmp_path / "store"),
            "APOGEE_URL": sim_url,  # never called: the codes are waived
            "IDENTITY_URL": identity_url,
            "BACKUP_LEASE_SECONDS": str(LEASE_SECONDS),
            "BACKUP_MAX_ATTEMPTS": "5",
            "LEASE_WATCH_SECONDS": "0.5",
        }.items()
    }
    worker_env = shared | {
        f"FUSION_WORKER_{key}": value
        for key, value in {
            **bus,
            "PLATFORMS": orchestrator_env["FUSION_MIGRATIONS_PLATFORMS"],
            "ORCHESTRATOR_URL": base,
            "ORCHESTRATOR_TOKEN": "demo-service",
            "ORCHESTRATOR_PATIENCE_SECONDS": str(START_SECONDS),
            "WORK_DIR": str(tmp_path / "workers"),
            "BUSY_POLL_SECONDS": "0.2",
        }.items()
    }
    serve = ["serve", "migration_orchestrator", "--port", str(port)]

    def worker(name: str, *args: str) -> None:
        env = worker_env | {"FUSION_WORKER_NAME": name}
        processes.start(name, ["worker", *args], env)

    processes.start("orchestrator-1", serve, orchestrator_env)
    worker("backup-1", "backup", "--platform", "ub1")
    worker("restore-1", "restore")
    target = sim["target"]
    before = set(target.courses)
    course = next(c for c in sim["ub1"].courses.values() if c.shortname.endswith("-001"))
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=10) as client:
        await until(lambda: healthy(client), seconds=START_SECONDS, what="the orchestrator")
        await until(
            lambda: ready_workers(processes, "backup-1", "restore-1"),
            seconds=START_SECONDS,
            what="the workers",
        )
        created = await client.post(
            V1,
            json={
                "source_platform": "ub1",
                "source_course_id": course.id,
                "target_category_id": 2,
                "waive_codes": True,
            },
        )
        assert created.status_code == 201, created.text
        migration_id = created.json()["id"]

        # 1. mid-backup: the orchestrator dies, then the worker running the backup CLI.
        first = await until(
            lambda: started_cli(tmp_path / "backup", 1), seconds=STEP_SECONDS, what="a backup"
        )
        assert int(first[2]) == processes.running["backup-1"].pid
        processes.kill("orchestrator-1")
        processes.kill("backup-1")

        # 2. both come back; the dead worker's lease runs out, the backup is taken again.
        processes.start("orchestrator-2", serve, orchestrator_env)
        worker("backup-2", "backup", "--platform", "ub1")
        await until(lambda: healthy(client), seconds=START_SECONDS, what="the orchestrator again")

        # 3. mid-restore: the restore worker dies; its CLI goes on, orphaned.
        restore = await until(
            lambda: started_cli(tmp_path / "restore", 1), seconds=STEP_SECONDS, what="a restore"
        )
        assert int(restore[2]) == processes.running["restore-1"].pid
        processes.kill("restore-1")

        # 4. a new restore worker gets the redelivered message.
        worker("restore-2", "restore")
        done = await until(
            lambda: finished(client, migration_id), seconds=STEP_SECONDS, what="the migration"
        )
        # every CLI has ended, the orphans' included: nothing more can land on the target
        await until(lambda: all_ended(tmp_path), seconds=STEP_SECONDS, what="the orphaned CLIs")

    assert done["state"] == "done", done
    states = [t["to_state"] for t in done["history"]]
    # the killed worker's backup, then the new one's (once more if a loaded machine let the
    # new lease run out while the orchestrator was coming back)
    assert states.count("backing_up") >= 2
    assert len([m for m in marks(tmp_path / "restore") if m[0] == "start"]) == 2
    new_courses = set(target.courses) - before
    assert new_courses == {done["target_course_id"]}, (new_courses, done["logs"])
    # the orphaned CLI's course was made and deleted, or came too late and found no area
    orphan = next(m for m in marks(tmp_path / "restore") if m[0] == "end" and m[1] == restore[1])
    logs = [log["message"] for log in done["logs"]]
    assert orphan[2] != "0" or any(
        "interrupted restore" in m or "second restore" in m for m in logs
    )
    restored = target.courses[done["target_course_id"]]
    assert restored.category == 2
    assert not [c for c in target.categories.values() if (c.idnumber or "").startswith("fusion-")]


async def healthy(client: httpx.AsyncClient) -> bool | None:
    try:
        answer = await client.get("/migrations/readyz")
    except httpx.TransportError:
        return None
    return True if answer.status_code == 200 else None


async def ready_workers(processes: Processes, *names: str) -> bool | None:
    return True if all(" ready" in processes.log_of(name) for name in names) else None


async def finished(client: httpx.AsyncClient, migration_id: int) -> dict[str, Any] | None:
    try:
        answer = await client.get(f"{V1}/{migration_id}")
    except httpx.TransportError:
        return None
    body: dict[str, Any] = answer.json()
    return body if body.get("state") in ("done", "failed", "blocked", "cancelled") else None


async def all_ended(tmp_path: Path) -> bool | None:
    for kind in ("backup", "restore"):
        kinds = [m[0] for m in marks(tmp_path / kind)]
        if kinds.count("start") != kinds.count("end"):
            return None
    return True
