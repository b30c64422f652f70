"""Planning the Moodle writes of a run as batches, and running them concurrently when safe.

A batch is one WS call: its rows are sized from fields × rows so that header + fields stays
within ``max_input_vars`` (moodle.md §13: beyond it PHP drops fields silently). Rows are sorted
by course so that a batch touches few courses. Two calls run at the same time only if they touch
no common user: Moodle serialises calls on the same users (row locks on ``mdl_cache_flags``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from fusion.moodle.batching import plan_batches

Row = dict[str, Any]
T = TypeVar("T")


class Phase(IntEnum):
    """Order inside a run: users must be enrolled before joining groups."""

    ENROL = 1
    CREATE_GROUPS = 2
    ADD_MEMBERS = 3
    DELETE_MEMBERS = 4
    REMOVE = 5


KIND_PHASE = {
    "enrol": Phase.ENROL,
    "create_groups": Phase.CREATE_GROUPS,
    "add_members": Phase.ADD_MEMBERS,
    "delete_members": Phase.DELETE_MEMBERS,
    "suspend": Phase.REMOVE,
    "unenrol": Phase.REMOVE,
    "forget": Phase.REMOVE,  # the "keep" policy: Moodle untouched, the ledger lets go
}

# Fields each row takes in the WS call (group rows carry the idnumber only until apply time,
# when it becomes the group id: the same count).
_FIELDS = {"add_members": 2, "delete_members": 2}


@dataclass(frozen=True)
class PlannedBatch:
    kind: str
    rows: list[Row]

    @property
    def phase(self) -> Phase:
        return KIND_PHASE[self.kind]


def fields_of(kind: str, row: Row) -> int:
    return _FIELDS.get(kind, len(row))


def plan(kind: str, rows: Iterable[Row], *, max_input_vars: int) -> list[PlannedBatch]:
    ordered = sorted(rows, key=lambda row: (row["courseid"], row.get("userid", 0)))
    chunks = plan_batches(
        ordered, fields_per_row=lambda row: fields_of(kind, row), max_input_vars=max_input_vars
    )
    return [PlannedBatch(kind=kind, rows=chunk) for chunk in chunks]


def users_of(rows: Sequence[Row]) -> frozenset[int]:
    return frozenset(row["userid"] for row in rows if "userid" in row)


async def run_disjoint(
    items: Sequence[T],
    *,
    users: Callable[[T], frozenset[int]],
    work: Callable[[T], Awaitable[None]],
    concurrency: int,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Run ``work`` on every item, at most ``concurrency`` at once, never two sharing a user.

    Items are started in order; one that overlaps a running item waits for it, and items after
    it may start meanwhile when they are disjoint. Returns the largest parallelism reached.
    """
    pending = list(items)
    running: dict[asyncio.Task[None], frozenset[int]] = {}
    busy: set[int] = set()
    failure: BaseException | None = None
    peak = 0
    while running or (pending and failure is None and not should_stop()):
        if failure is None and not should_stop():
            _start_ready(pending, running, busy, users=users, work=work, concurrency=concurrency)
        peak = max(peak, len(running))
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            busy.difference_update(running.pop(task))
            # The first failure stops new work; calls in flight finish and get recorded.
            if failure is None and task.exception() is not None:
                failure = task.exception()
    if failure is not None:
        raise failure
    return peak


def _start_ready(
    pending: list[T],
    running: dict[asyncio.Task[None], frozenset[int]],
    busy: set[int],
    *,
    users: Callable[[T], frozenset[int]],
    work: Callable[[T], Awaitable[None]],
    concurrency: int,
) -> None:
    index = 0
    while index < len(pending) and len(running) < concurrency:
        touched = users(pending[index])
        if busy.isdisjoint(touched):
            item = pending.pop(index)
            busy.update(touched)
            running[asyncio.ensure_future(work(item))] = touched
        else:
            index += 1
