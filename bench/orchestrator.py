"""The orchestrator's own cost per migration, with a backlog of 1,000 and of 29,000.

Simulator platforms whose backups and restores take no time (the backup is one small real
``.mbz``, written into the store; the restore creates the course directly in the simulator),
the real orchestrator functions on PostgreSQL: request (authorisation through Moodle WS),
claim of a platform slot, the stored backup, the pre-flight, restore-check, the restore's
report, post-restore. Time spent inside Moodle or identity (through their transports) is
measured and subtracted: what remains is ours. Prints per migration: our milliseconds,
database writes and bus messages (outbox rows), for the first 1,000 migrations drained from a
backlog of 1,000 and from a backlog of ``FUSION_BENCH_QUEUED`` (29,000 by default).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import event

from bench.report import write_report
from fusion.asgi import HostedApp
from fusion.auth import Principal
from fusion.runtime import Seams, standalone
from fusion.settings import MoodlePlatform
from fusion.testing.postgres import PgDatabases
from services.migration_orchestrator.migrations import analysis, post_restore
from services.migration_orchestrator.migrations.backups import (
    backup_stored,
    claim_backup,
    receive_backup,
)
from services.migration_orchestrator.migrations.models import Migration, messaging, metadata
from services.migration_orchestrator.migrations.requests import request_migration
from services.migration_orchestrator.migrations.restores import restore_done, start_restore
from services.migration_orchestrator.migrations.schemas import MigrationCreate
from services.migration_orchestrator.scheduling.slots import ensure_slots
from services.migration_orchestrator.services import Orchestrator, Transports
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.state import state_factory
from sim.mbz import BackupSpec, CourseSpec, write_course_backup
from sim.moodle.app import create_sim_app
from sim.moodle.demo import seed_demo
from sim.moodle.state import SimMoodle

SAMPLE = int(os.environ.get("FUSION_BENCH_SAMPLE", "1000"))
ADMIN = Principal(client="bench", role="admin")


@dataclass
class Meter:
    """Time inside upstreams, and the statements our code sent to the database."""

    upstream_seconds: float = 0.0
    writes: int = 0
    messages: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def on_statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.lstrip()[:6].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            self.writes += 1
            if "fusion_outbox" in statement[:40] and verb == "INSERT":
                self.messages += 1


class TimedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, meter: Meter) -> None:
        self._inner, self._meter = inner, meter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        self._meter.upstream_seconds += time.perf_counter() - started
        return response


def _identity_clean(request: httpx.Request) -> httpx.Response:
    del request
    counts = {"maps": 0, "creates": 0, "conflicts": 0}
    return httpx.Response(
        200, json={"platform": "target", "clean": True, "counts": counts, "users": []}
    )


def _backup_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.mbz"
        spec = BackupSpec(course=CourseSpec(id=5, shortname="BENCH", fullname="Bench"))
        write_course_backup(path, spec=spec, container="tar.gz")
        return path.read_bytes()


async def _one_chunk(data: bytes) -> Any:
    yield data


async def enqueue(orchestrator: Orchestrator, courses: list[int]) -> None:
    for course in courses:
        body = MigrationCreate(
            source_platform="ub1",
            source_course_id=course,
            target_category_id=1,
            waive_codes=True,
        )
        async with orchestrator.db.unit_of_work() as session:
            await request_migration(
                session,
                body,
                principal=ADMIN,
                source=orchestrator.moodle["ub1"],
                apogee=orchestrator.apogee,
                sources=orchestrator.sources,
            )


async def drain_one(orchestrator: Orchestrator, sim: SimMoodle, backup: bytes) -> None:
    db = orchestrator.db
    async with db.unit_of_work() as session:
        claim = await claim_backup(session, platform="ub1", worker="bench", lease_seconds=60)
    assert claim.migration_id is not None
    migration_id = claim.migration_id
    async with db.session() as session:
        migration = await session.get(Migration, migration_id)
    assert migration is not None
    stored = await receive_backup(
        migration, _one_chunk(backup), store=orchestrator.store, sha256=None, max_bytes=10**9
    )
    async with db.unit_of_work() as session:
        migration = await session.get(Migration, migration_id, with_for_update=True)
        assert migration is not None
        await backup_stored(session, migration, stored)
    await analysis.analyse_stored(orchestrator, migration_id)
    await analysis.check_identities(orchestrator, migration_id)
    async with db.unit_of_work() as session:
        await start_restore(session, migration_id, worker="bench")
    course = sim["target"].add_course(f"R{migration_id}", "Restauré", 1)  # zero-time restore
    async with db.unit_of_work() as session:
        await restore_done(session, migration_id, course_id=course.id)
    await post_restore.finish(orchestrator, migration_id)


async def measure(
    orchestrator: Orchestrator, sim: SimMoodle, meter: Meter, backup: bytes
) -> dict[str, float]:
    meter.upstream_seconds, meter.writes, meter.messages = 0.0, 0, 0
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(SAMPLE):
        await drain_one(orchestrator, sim, backup)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "our_ms_per_migration": round((wall - meter.upstream_seconds) * 1000 / SAMPLE, 2),
        # CPU of this process (includes the in-process simulator): waiting on a loaded
        # database server is left out, so this is an upper bound of our own computation.
        "process_cpu_ms_per_migration": round(cpu * 1000 / SAMPLE, 2),
        "upstream_ms_per_migration": round(meter.upstream_seconds * 1000 / SAMPLE, 2),
        "db_writes_per_migration": round(meter.writes / SAMPLE, 1),
        "bus_messages_per_migration": round(meter.messages / SAMPLE, 1),
    }


async def run_with_backlog(queued: int, databases: PgDatabases, workdir: Path) -> dict[str, Any]:
    sim = SimMoodle()
    seed_demo(sim, base_url="http://sim", courses_per_platform=1)
    courses = [sim["ub1"].add_course(f"Q{n}", f"Cours {n}", 1).id for n in range(queued)]
    meter = Meter()
    async with HostedApp(create_sim_app(sim)).running() as hosted:
        moodle = TimedTransport(httpx.ASGITransport(app=hosted), meter)
        identity = TimedTransport(httpx.MockTransport(_identity_clean), meter)
        settings = Settings(
            environment="test",
            database_url=await databases.create("bench"),
            database_create_tables=True,
            platforms=[
                MoodlePlatform(name=n, url=f"http://sim/{n}", token=SecretStr(f"{n}-token"))
                for n in ("ub1", "target")
            ],
            store_dir=workdir / f"store-{queued}",
        )
        seams = Seams(transports=Transports(moodle=moodle, identity=identity).by_upstream())
        async with standalone(
            settings,
            state=state_factory(None),
            metadata=metadata,
            messaging=messaging,
            seams=seams,
        ) as state:
            orchestrator = state.orchestrator
            async with orchestrator.db.unit_of_work() as session:
                await ensure_slots(session, {"ub1": 1})
            event.listen(
                orchestrator.db.engine.sync_engine, "before_cursor_execute", meter.on_statement
            )
            started = time.perf_counter()
            await enqueue(orchestrator, courses)
            enqueue_ms = (time.perf_counter() - started - meter.upstream_seconds) * 1000
            enqueue_writes = meter.writes
            figures = await measure(orchestrator, sim, meter, _backup_bytes())
    return {
        "queued": queued,
        "enqueue_our_ms_per_migration": round(enqueue_ms / queued, 2),
        "enqueue_db_writes_per_migration": round(enqueue_writes / queued, 1),
        **{f"drain_{key}": value for key, value in figures.items()},
    }


async def _main() -> dict[str, Any]:
    large = int(os.environ.get("FUSION_BENCH_QUEUED", "29000"))
    databases = PgDatabases()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            small = await run_with_backlog(SAMPLE, databases, Path(tmp))
            print(small, flush=True)
            big = await run_with_backlog(large, databases, Path(tmp))
            print(big, flush=True)
    finally:
        await databases.drop_all()
    base, grown = small["drain_our_ms_per_migration"], big["drain_our_ms_per_migration"]
    return {
        "backlog_small": small,
        "backlog_large": big,
        "drain_overhead_growth": round(grown / base, 2) if base else None,
        "goal_ms": 20,
    }


def main() -> int:
    figures = asyncio.run(_main())
    small, big = figures["backlog_small"], figures["backlog_large"]
    print(
        f"our time per migration (request + drain): {small['enqueue_our_ms_per_migration']} + "
        f"{small['drain_our_ms_per_migration']} ms with {small['queued']} queued, "
        f"{big['enqueue_our_ms_per_migration']} + {big['drain_our_ms_per_migration']} ms with "
        f"{big['queued']} queued (x{figures['drain_overhead_growth']}; goal <= 20 ms)"
    )
    print(
        f"process CPU per drained migration: {small['drain_process_cpu_ms_per_migration']} ms "
        f"({small['queued']} queued), {big['drain_process_cpu_ms_per_migration']} ms "
        f"({big['queued']} queued)"
    )
    print(
        f"per migration: {small['enqueue_db_writes_per_migration']} + "
        f"{small['drain_db_writes_per_migration']} database writes, "
        f"{small['drain_bus_messages_per_migration']} bus messages while draining"
    )
    print(f"written to {write_report('orchestrator', figures)}")
    return 0


__all__ = ["main"]
