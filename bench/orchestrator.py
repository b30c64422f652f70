"""The orchestrator's own cost per migration, with a backlog of 1,000 and of 29,000 queued.

Simulator platforms whose backups and restores take no time (the backup is one small real
``.mbz``, written into the store; the restore creates the course directly in the simulator),
the real orchestrator functions on PostgreSQL: request (authorisation through Moodle WS),
claim of a platform slot, the stored backup, the pre-flight, restore-check, the restore's
start (its area created on the target, or an earlier attempt's emptied) and report (the
course moved into its category, the area closed), post-restore.

**Our own time** is the CPU time of this process (every thread: the pre-flight runs in one)
minus the CPU time spent inside the upstreams' transports (the in-process Moodle simulator,
identity's stand-in), measured around each call: they answer without waiting on anything, so
no other task runs during a call. PostgreSQL's own work is in another process and is not ours;
the wall time is printed beside it (on a loaded machine it is mostly waiting for the database
and for a CPU).

For each backlog, migrations are requested through ``request_migration``, eight requesters at a
time, for up to ``FUSION_BENCH_FILL_SECONDS``; the rest of the backlog, if any, is written in
bulk with the rows a request leaves, and the output says how many (on a loaded machine the
database, not our code, bounds the request rate). The last ``FUSION_BENCH_REQUESTS`` requests,
on top of the backlog, are measured apart, then ``FUSION_BENCH_SAMPLE`` migrations are drained
from the backlog, end to end, after ``WARMUP`` drained unmeasured (the first of each kind of
statement is compiled and prepared: a start-up cost, not one per migration), in ``ROUNDS``
rounds, each after a calibration. Prints per migration, the mean over the whole sample and each
round's with the machine's speed beside it (a neighbour's load on a shared machine moves both
within a run), then the median round and the median of the rounds' drain in calibrations (our
milliseconds over the calibration's, to compare runs of different days): our CPU milliseconds
(and, of the process's, the kernel's: on loopback mostly the round trips to PostgreSQL),
database statements and transactions, writes (rows written), bus messages (outbox rows). Not
measured: the outbox relay publishing those messages, and the consumers of
``migration.state_changed`` that drive the steps (the bench calls the steps itself; the
pre-flight's run goes on to the identity check, and a clean backup goes from ``backed_up`` to
``restoring`` in one move: no step runs on the states it passes through).
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import event

from bench._orchestrator_backlog import (
    REQUESTERS,
    backup_bytes,
    drain_one,
    enqueue,
    identity_clean,
    seed_backlog,
)
from bench._orchestrator_meter import Clock, Meter, TimedTransport, calibration_ms, loadavg
from bench.report import write_report
from fusion.asgi import HostedApp
from fusion.runtime import Seams, standalone
from fusion.settings import MoodlePlatform
from fusion.testing.postgres import PgDatabases
from services.migration_orchestrator.migrations.models import messaging, metadata
from services.migration_orchestrator.scheduling.slots import ensure_slots
from services.migration_orchestrator.services import Transports
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.state import state_factory
from sim.moodle.app import create_sim_app
from sim.moodle.demo import seed_demo
from sim.moodle.state import SimMoodle

SAMPLE = int(os.environ.get("FUSION_BENCH_SAMPLE", "300"))
WARMUP = 20  # drained before the measured sample, out of the backlog
# The sample is drained in rounds, each after a calibration: on a shared machine the speed
# changes within a run, and the rounds show by how much and how our figure follows it.
ROUNDS = 5
REQUESTS = int(os.environ.get("FUSION_BENCH_REQUESTS", "300"))
BACKLOGS = (1_000, int(os.environ.get("FUSION_BENCH_QUEUED", "29000")))
# Past this, the rest of a backlog is written in bulk (and the bench says how much).
FILL_SECONDS = float(os.environ.get("FUSION_BENCH_FILL_SECONDS", "120"))


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
        identity = TimedTransport(httpx.MockTransport(identity_clean), meter)
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
            backup = backup_bytes()
            for _ in range(WARMUP):  # statements compiled and prepared, pools filled: not measured
                await drain_one(orchestrator, sim, backup)
            rounds = []
            for _ in range(ROUNDS):
                speed = calibration_ms()
                with Clock(meter, SAMPLE // ROUNDS) as drain:
                    for _ in range(SAMPLE // ROUNDS):
                        await drain_one(orchestrator, sim, backup)
                rounds.append({"calibration_ms": speed, **drain.figures()})
    return {
        "queued": queued,
        "requested": filled + tail,
        "written_in_bulk": seeded,
        "fill": fill.figures(),
        "request": requests.figures(),
        "drain": _mean(rounds),
        "drain_rounds": [
            {"calibration_ms": r["calibration_ms"], "our_cpu_ms": r["our_cpu_ms"]} for r in rounds
        ],
        "drain_median_our_cpu_ms": statistics.median(r["our_cpu_ms"] for r in rounds),
        # less tied to the machine's speed of the moment than milliseconds, to compare runs of
        # different days: the calibration is pure Python, like most of ours (not the kernel's)
        "drain_median_per_calibration": round(
            statistics.median(r["our_cpu_ms"] / r["calibration_ms"] for r in rounds), 3
        ),
    }


def _mean(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The figures of the whole sample: the rounds' mean (each drained as many migrations)."""
    return {key: round(statistics.fmean(r[key] for r in rounds), 2) for key in rounds[0]}


async def _main() -> dict[str, Any]:
    databases = PgDatabases()
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for queued in BACKLOGS:
                load, calibration = loadavg(), calibration_ms()
                figures = await run_with_backlog(queued, databases, Path(tmp))
                figures["calibration_ms"] = [calibration, calibration_ms()]
                figures["loadavg_before"], figures["loadavg_after"] = load, loadavg()
                figures["seconds"] = round(time.perf_counter() - started, 1)
                print(figures, flush=True)
                results.append(figures)
                await databases.drop_all()
    finally:
        await databases.drop_all()
    small, big = results[0], results[-1]

    def total(r: dict[str, Any]) -> float:
        return float(r["request"]["our_cpu_ms"] + r["drain"]["our_cpu_ms"])

    def median_total(r: dict[str, Any]) -> float:
        return float(r["request"]["our_cpu_ms"] + r["drain_median_our_cpu_ms"])

    return {
        "backlogs": results,
        "our_cpu_ms_per_migration_small": round(total(small), 2),
        "our_cpu_ms_per_migration_large": round(total(big), 2),
        "growth": round(total(big) / total(small), 2) if total(small) else None,
        "median_round_our_cpu_ms_per_migration_small": round(median_total(small), 2),
        "median_round_our_cpu_ms_per_migration_large": round(median_total(big), 2),
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
        by_round = ", ".join(
            f"{d['calibration_ms']} -> {d['our_cpu_ms']}" for d in r["drain_rounds"]
        )
        print(
            f"    drain by round of {SAMPLE // ROUNDS} (calibration ms -> our ms): {by_round}; "
            f"median round {r['drain_median_our_cpu_ms']} ms, so "
            f"{req['our_cpu_ms'] + r['drain_median_our_cpu_ms']:.1f} ms per migration; "
            f"a drain is {r['drain_median_per_calibration']} calibrations (median of the rounds)"
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
        f"{figures['backlogs'][-1]['queued']:,} queued: x{figures['growth']} (median rounds: "
        f"{figures['median_round_our_cpu_ms_per_migration_small']} -> "
        f"{figures['median_round_our_cpu_ms_per_migration_large']} ms)"
    )
    print(f"written to {write_report('orchestrator', figures)}")
    return 0


__all__ = ["main"]
