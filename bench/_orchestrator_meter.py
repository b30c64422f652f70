"""How the orchestrator bench measures: our CPU apart from the upstreams', the statements,
transactions, rows and messages a stretch of work sends to the database, the kernel's share,
and how fast the machine runs meanwhile."""

from __future__ import annotations

import re
import resource
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from fusion.contracts import Envelope, MigrationStateChanged

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


def kernel_seconds() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


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
        self._kernel = kernel_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.kernel = kernel_seconds() - self._kernel
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


def calibration_ms() -> float:
    """CPU milliseconds of a fixed piece of pure Python work (envelopes of 2,000 events, made
    and read back), the median of three runs: how fast this machine runs at the moment, to
    read the figures beside (on a shared machine it varies from one run to the next as much as
    the figures do; one run alone is noisy too: 37 to 61 ms between rounds of one bench run
    whose figure moved by less than a fifth)."""
    return statistics.median(_calibration_once() for _ in range(3))


def _calibration_once() -> float:
    started = time.process_time()
    for n in range(2_000):
        changed = MigrationStateChanged(
            migration_id=n + 1, source_platform="ub1", previous_state="a", state="b", cause="b"
        )
        Envelope.model_validate_json(Envelope.of(changed).model_dump_json())
    return round((time.process_time() - started) * 1000, 1)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
