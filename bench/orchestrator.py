"""The orchestrator's own cost per migration, with a backlog of 1,000 and of 29,000 queued.

Simulator platforms whose backups and restores take no time (the backup is one small real
``.mbz``, written into the store; the restore creates the course directly in the simulator),
the real orchestrator functions on PostgreSQL: request (authorisation through Moodle WS),
claim of a platform slot, the stored backup, the pre-flight, restore-check, the restore's
start (its area on the target opened and emptied) and report (the course moved into its
category, the area closed), post-restore.

**Our own time** is the CPU time of this process (every thread: the pre-flight runs in one)
minus the CPU time spent inside the upstreams' transports (the in-process Moodle simulator,
identity's stand-in), measured around each call: they answer without waiting on anything, so
no other task runs during a call. PostgreSQL's own work is in another process and is not ours;
the wall time is printed beside it (on a loaded machine it is mostly waiting for the database
and for a CPU).

For each backlog, migrations are requested through ``request_migration``, eight requesters at
a time, for up to ``FUSION_BENCH_FILL_SECONDS``; the rest of the backlog, if any, is written in
bulk with the rows a request leaves, and the output says how many (on a loaded machine the
database, not our code, bounds the request rate). The last ``FUSION_BENCH_REQUESTS`` requests,
on top of the backlog, are measured apart, then ``FUSION_BENCH_SAMPLE`` migrations are drained
from the backlog, end to end, after ``WARMUP`` drained unmeasured (the first of each kind of
statement is compiled and prepared: a start-up cost, not one per migration). Prints per
migration: our CPU milliseconds (and, of the process's, the kernel's: on loopback mostly the
round trips to PostgreSQL), database statements and transactions, writes (rows written), bus
messages (outbox rows). Not measured: the outbox relay publishing those messages, and the
consumers of ``migration.state_changed`` that drive the steps (the bench calls the steps
itself; the pre-flight's run goes on to the identity check, and no step runs on that
``analysed`` event).
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import resource
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import event, insert

from bench.report import write_report
from fusion.asgi import HostedApp
from fusion.auth import Principal
from fusion.contracts import Envelope, MigrationStateChanged, RunBackup
from fusion.runtime import Seams, standalone
from fusion.settings import MoodlePlatform
from fusion.testing.postgres import PgDatabases
from services.migration_orchestrator.migrations import analysis, post_restore, restore_area
from services.migration_orchestrator.migrations.backups import (
    backup_stored,
    claim_backup,
    held_backup,
    receive_backup,
)
from services.migration_orchestrator.migrations.models import (
    Migration,
    MigrationTransition,
    messaging,
    metadata,
    utcnow,
)
from services.migration_orchestrator.migrations.requests import active_key, request_migration
from services.migration_orchestrator.migrations.schemas import MigrationCreate
from services.migration_orchestrator.migrations.states import State
from services.migration_orchestrator.scheduling.slots import ensure_slots
from services.migration_orchestrator.services import Orchestrator, Transports
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.state import state_factory
from sim.mbz import BackupSpec, CourseSpec, write_course_backup
from sim.moodle.app import create_sim_app
from sim.moodle.demo import seed_demo
from sim.moodle.state import SimMoodle

SAMPLE = int(os.environ.get("FUSION_BENCH_SAMPLE", "300"))
WARMUP = 20  # drained before the measured sample, out of the backlog
REQUESTS = int(os.environ.get("FUSION_BENCH_REQUESTS", "300"))
BACKLOGS = (1_000, int(os.environ.get("FUSION_BENCH_QUEUED", "29000")))
# Past this, the rest of a backlog is written in bulk (and the bench says how much).
FILL_SECONDS = float(os.environ.get("FUSION_BENCH_FILL_SECONDS", "120"))
ADMIN = Principal(client="bench", role="admin")
REQUESTERS = 8
SEEDED_COURSES = 1_000_000  # course ids of the bulk backlog: apart from the simulator's


_WRITES = re.compile(r"INSERT INTO (\w+)|UPDATE (\w+) SET |DELETE FROM (\w+)")  # not FOR UPDATE


def written_rows(statement: str) -> list[str]:
    """The table of each row a statement writes, for one parameter set: one per write, or,
    in a guarded move (``fusion.guarded``), one per ``SELECT … FROM moved`` of each insert
    (an insert of several rows is a ``UNION ALL`` of them)."""
    guarded = statement.lstrip().startswith("WITH moved AS")
    if guarded:
        statement = statement[: statement.rfind("SELECT moved.")]  # the main query reads
    parts = list(_WRITES.finditer(statement))
    tables: list[str] = []
    for n, part in enumerate(parts):
        table = next(name for name in part.groups() if name)
        end = parts[n + 1].start() if n + 1 < len(parts) else len(statement)
        is_insert = part.group(0).startswith("INSERT")
        rows = statement.count("FROM moved", part.end(), end) if guarded and is_insert else 1
        tables += [table] * rows
    return tables


@dataclass
class Meter:
    """Time inside upstreams, and the statements our code sent to the database."""

    upstream_seconds: float = 0.0
    upstream_cpu: float = 0.0
    gc_cpu: float = 0.0  # the cyclic collector's passes: they grow with the whole heap
    _gc_started: float = 0.0
    statements: int = 0
    writes: int = 0
    messages: int = 0
    transactions: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.upstream_seconds = self.upstream_cpu = self.gc_cpu = 0.0
        self.statements = self.writes = self.messages = self.transactions = 0

    def on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.process_time()
        else:
            self.gc_cpu += time.process_time() - self._gc_started

    def on_statement(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        """Writes are rows written (a guarded move writes the migration, its history, its
        messages and log lines in one statement), messages the outbox rows among them."""
        self.statements += 1
        sets = len(parameters) if executemany else 1
        for table in written_rows(statement):
            self.writes += sets
            self.messages += sets if table == "fusion_outbox" else 0

    def on_begin(self, connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.transactions += 1  # a read, or a move of one statement, sends no BEGIN


class TimedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, meter: Meter) -> None:
        self._inner, self._meter = inner, meter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started, cpu = time.perf_counter(), time.process_time()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        self._meter.upstream_cpu += time.process_time() - cpu
        self._meter.upstream_seconds += time.perf_counter() - started
        return response


def _identity_clean(request: httpx.Request) -> httpx.Response:
    del request
    counts = {"maps": 0, "creates": 0, "conflicts": 0}
    return httpx.Response(
        200, json={"platform": "target", "clean": True, "counts": counts, "users": []}
    )


def _kernel_seconds() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def _backup_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.mbz"
        spec = BackupSpec(course=CourseSpec(id=5, shortname="BENCH", fullname="Bench"))
        write_course_backup(path, spec=spec, container="tar.gz")
        return path.read_bytes()


async def _one_chunk(data: bytes) -> Any:
    yield data


async def enqueue(
    orchestrator: Orchestrator, courses: list[int], *, deadline: float = float("inf")
) -> int:
    """Requests for ``courses``, ``REQUESTERS`` at a time (teachers do not queue politely),
    until ``deadline`` (``time.monotonic()``); returns how many were made."""
    done = await asyncio.gather(
        *(_request(orchestrator, courses[n::REQUESTERS], deadline) for n in range(REQUESTERS))
    )
    return sum(done)


async def _request(orchestrator: Orchestrator, courses: list[int], deadline: float) -> int:
    done = 0
    for course in courses:
        if time.monotonic() > deadline:
            break
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
        done += 1
    return done


async def drain_one(orchestrator: Orchestrator, sim: SimMoodle, backup: bytes) -> None:
    db = orchestrator.db
    async with db.unit_of_work() as session:
        claim = await claim_backup(session, platform="ub1", worker="bench", lease_seconds=60)
    assert claim.migration_id is not None
    migration_id = claim.migration_id
    async with db.read() as session:  # as the upload does
        migration = await held_backup(session, migration_id, worker="bench", lock=False)
    stored = await receive_backup(
        migration, _one_chunk(backup), store=orchestrator.store, sha256=None, max_bytes=10**9
    )
    async with db.unit_of_work() as session:
        migration = await held_backup(session, migration_id, worker="bench")
        await backup_stored(session, migration, stored)
    await analysis.analyse_stored(orchestrator, migration_id)  # then the identity check
    # as the restore worker's calls do: the attempt recorded and its area ready on the target,
    # a zero-time restore into that area, then the course moved into its category
    ticket = await restore_area.start(orchestrator, migration_id, worker="bench")
    course = sim["target"].add_course(f"R{migration_id}", "Restauré", ticket.category_id)
    await restore_area.done(orchestrator, migration_id, course_id=course.id, attempt=ticket.attempt)
    await post_restore.finish(orchestrator, migration_id)


@dataclass
class Clock:
    """Our CPU, the wall time and the statements of one measured stretch of work."""

    meter: Meter
    count: int
    wall: float = 0.0
    cpu: float = 0.0
    kernel: float = 0.0

    def __enter__(self) -> Clock:
        self.meter.reset()
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        self._kernel = _kernel_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.kernel = _kernel_seconds() - self._kernel
        self.meter = replace(self.meter)  # what was counted, apart from the next stretch

    def figures(self) -> dict[str, float]:
        per = 1000 / self.count
        meter = self.meter
        return {
            "our_cpu_ms": round((self.cpu - meter.upstream_cpu) * per, 2),
            "process_cpu_ms": round(self.cpu * per, 2),
            "upstream_cpu_ms": round(meter.upstream_cpu * per, 2),
            "of_ours_gc_cpu_ms": round(meter.gc_cpu * per, 2),
            # system calls: on loopback, mostly the TCP round trips to PostgreSQL, whose
            # receiving end the kernel also runs on this process's time
            "of_process_kernel_cpu_ms": round(self.kernel * per, 2),
            "wall_ms": round(self.wall * per, 2),
            "upstream_wall_ms": round(meter.upstream_seconds * per, 2),
            "db_statements": round(meter.statements / self.count, 1),
            "db_transactions": round(meter.transactions / self.count, 1),
            "db_writes": round(meter.writes / self.count, 1),
            "bus_messages": round(meter.messages / self.count, 1),
        }


async def seed_backlog(orchestrator: Orchestrator, count: int) -> None:
    """``count`` migrations queued on ub1 as ``request_migration`` leaves them (the migration
    queued, its two history rows, its two outbox messages), written in bulk."""
    migrations = Migration.__table__  # type: ignore[attr-defined]
    history = MigrationTransition.__table__  # type: ignore[attr-defined]
    for first in range(0, count, 1_000):
        rows = []
        for n in range(first, min(count, first + 1_000)):
            course = SEEDED_COURSES + n
            now = utcnow()
            rows.append(
                {
                    "source_platform": "ub1",
                    "source_course_id": course,
                    "active_key": active_key("ub1", course),
                    "target_category_id": 1,
                    "visible": True,
                    "apogee_codes": [],
                    "codes_waived": True,
                    "with_users": True,
                    "requested_by": ADMIN.client,
                    "authorised_as": ADMIN.role,
                    "evidence": {"role": ADMIN.role, "client": ADMIN.client},
                    "enrol_teachers": [],
                    "priority": 0,
                    "state": State.BACKUP_QUEUED.value,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        async with orchestrator.db.unit_of_work() as session:
            ids = (await session.execute(insert(migrations).returning(migrations.c.id), rows)).all()
            moves, messages = [], []
            for (migration_id,) in ids:
                now = utcnow()
                moves += [
                    {
                        "migration_id": migration_id,
                        "from_state": None,
                        "to_state": State.REQUESTED.value,
                        "cause": "request",
                        "at": now,
                    },
                    {
                        "migration_id": migration_id,
                        "from_state": State.REQUESTED.value,
                        "to_state": State.BACKUP_QUEUED.value,
                        "cause": "requested by bench",
                        "at": now,
                    },
                ]
                changed = MigrationStateChanged(
                    migration_id=migration_id,
                    source_platform="ub1",
                    previous_state=State.REQUESTED.value,
                    state=State.BACKUP_QUEUED.value,
                    cause="requested by bench",
                )
                for message in (changed, RunBackup(migration_id=migration_id, platform="ub1")):
                    envelope = Envelope.of(message)
                    messages.append(
                        {
                            "message_id": envelope.message_id,
                            "type": envelope.type,
                            "envelope": envelope.model_dump_json(),
                            "created_at": now,
                            "available_at": now,
                            "attempts": 0,
                        }
                    )
            await session.execute(insert(history), moves)
            await session.execute(insert(messaging.outbox), messages)


async def run_with_backlog(queued: int, databases: PgDatabases, workdir: Path) -> dict[str, Any]:
    sim = SimMoodle()
    seed_demo(sim, base_url="http://sim", courses_per_platform=1)
    courses = [sim["ub1"].add_course(f"Q{n}", f"Cours {n}", 1).id for n in range(queued)]
    meter = Meter()
    gc.callbacks.append(meter.on_gc)
    try:
        return await _run(queued, databases, workdir, sim, courses, meter)
    finally:
        gc.callbacks.remove(meter.on_gc)


async def _run(
    queued: int,
    databases: PgDatabases,
    workdir: Path,
    sim: SimMoodle,
    courses: list[int],
    meter: Meter,
) -> dict[str, Any]:
    async with HostedApp(create_sim_app(sim)).running() as hosted:
        moodle = TimedTransport(httpx.ASGITransport(app=hosted), meter)
        identity = TimedTransport(httpx.MockTransport(_identity_clean), meter)
        settings = Settings(
            environment="test",
            database_url=await databases.create(f"bench{queued}"),
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
            engine = orchestrator.db.engine.sync_engine
            event.listen(engine, "before_cursor_execute", meter.on_statement)
            event.listen(engine, "begin", meter.on_begin)
            tail = min(REQUESTS, queued)
            with Clock(meter, 1) as fill:
                filled = await enqueue(
                    orchestrator, courses[: queued - tail], deadline=time.monotonic() + FILL_SECONDS
                )
            fill.count = max(1, filled)
            seeded = queued - tail - filled
            await seed_backlog(orchestrator, seeded)
            with Clock(meter, tail) as requests:  # the last ones, on top of the backlog
                await enqueue(orchestrator, courses[queued - tail :])
            backup = _backup_bytes()
            for _ in range(WARMUP):  # statements compiled and prepared, pools filled: not measured
                await drain_one(orchestrator, sim, backup)
            with Clock(meter, SAMPLE) as drain:
                for _ in range(SAMPLE):
                    await drain_one(orchestrator, sim, backup)
    return {
        "queued": queued,
        "requested": filled + tail,
        "written_in_bulk": seeded,
        "fill": fill.figures(),
        "request": requests.figures(),
        "drain": drain.figures(),
    }


def _calibration_ms() -> float:
    """CPU milliseconds of a fixed piece of pure Python work (envelopes of 2,000 events, made
    and read back): how fast this machine runs at the moment, to read the figures beside (on
    a shared machine it varies from one run to the next as much as the figures do)."""
    started = time.process_time()
    for n in range(2_000):
        changed = MigrationStateChanged(
            migration_id=n + 1, source_platform="ub1", previous_state="a", state="b", cause="b"
        )
        Envelope.model_validate_json(Envelope.of(changed).model_dump_json())
    return round((time.process_time() - started) * 1000, 1)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def _main() -> dict[str, Any]:
    databases = PgDatabases()
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for queued in BACKLOGS:
                load, calibration = _load(), _calibration_ms()
                figures = await run_with_backlog(queued, databases, Path(tmp))
                figures["calibration_ms"] = [calibration, _calibration_ms()]
                figures["loadavg_before"], figures["loadavg_after"] = load, _load()
                figures["seconds"] = round(time.perf_counter() - started, 1)
                print(figures, flush=True)
                results.append(figures)
                await databases.drop_all()
    finally:
        await databases.drop_all()
    small, big = results[0], results[-1]

    def total(r: dict[str, Any]) -> float:
        return float(r["request"]["our_cpu_ms"] + r["drain"]["our_cpu_ms"])

    return {
        "backlogs": results,
        "our_cpu_ms_per_migration_small": round(total(small), 2),
        "our_cpu_ms_per_migration_large": round(total(big), 2),
        "growth": round(total(big) / total(small), 2) if total(small) else None,
        "goal_ms": 20,
        "our_time": "process CPU (all threads) minus CPU inside the upstream transports",
    }


def main() -> int:
    figures = asyncio.run(_main())
    print(f"our time = {figures['our_time']}; PostgreSQL's work and waits are not in it")
    for r in figures["backlogs"]:
        req, drain = r["request"], r["drain"]
        print(
            f"backlog {r['queued']:>6,} (load {r['loadavg_before']}, calibration "
            f"{' then '.join(str(c) for c in r['calibration_ms'])} ms): "
            f"request {req['our_cpu_ms']} ms ours + drain {drain['our_cpu_ms']} ms ours = "
            f"{req['our_cpu_ms'] + drain['our_cpu_ms']:.1f} ms per migration (goal <= 20); "
            f"wall {req['wall_ms']} + {drain['wall_ms']} ms; "
            f"upstream CPU {req['upstream_cpu_ms']} + {drain['upstream_cpu_ms']} ms; "
            f"of ours, in the garbage collector {req['of_ours_gc_cpu_ms']} + "
            f"{drain['of_ours_gc_cpu_ms']} ms; of the process's, in the kernel "
            f"{req['of_process_kernel_cpu_ms']} + {drain['of_process_kernel_cpu_ms']} ms"
        )
        print(
            f"    backlog: {r['requested']:,} requested ({r['fill']['our_cpu_ms']} ms ours, "
            f"wall {r['fill']['wall_ms']} ms per request, {REQUESTERS} requesters at a time), "
            f"{r['written_in_bulk']:,} written in bulk (requests past {FILL_SECONDS:.0f} s)"
        )
        print(
            f"    per migration: {req['db_statements']} + {drain['db_statements']} statements "
            f"in {req['db_transactions']} + {drain['db_transactions']} transactions, "
            f"{req['db_writes']} + {drain['db_writes']} writes, "
            f"{req['bus_messages']} + {drain['bus_messages']} bus messages"
        )
    print(
        f"growth from {figures['backlogs'][0]['queued']:,} to "
        f"{figures['backlogs'][-1]['queued']:,} queued: x{figures['growth']}"
    )
    print(f"written to {write_report('orchestrator', figures)}")
    return 0


__all__ = ["main"]
