"""Planning the Moodle writes of a run as batches, and running them concurrently when safe.

A batch is one WS call: its rows are sized from fields × rows so that header + fields stays
within ``max_input_vars`` (moodle.md §13: beyond it PHP drops fields silently). Rows are sorted
by course so that a batch touches few courses. Two calls run at the same time only if they touch
no common user: Moodle serialises calls on the same users (row locks on ``mdl_cache_flags``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Generic, TypeVar

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
    it may start meanwhile when they are disjoint. The calls run under a ``TaskGroup``: when
    this is cancelled (the service stops), none outlives it. Returns the largest parallelism.
    """
    pending = list(items)
    scheduler = _Disjoint(users=users, work=work)
    peak = 0
    async with asyncio.TaskGroup() as group:
        while True:
            if scheduler.failure is None and not should_stop():
                scheduler.start_ready(pending, group, concurrency=concurrency)
            peak = max(peak, len(scheduler.running))
            if not scheduler.running:
                break
            await scheduler.one_finished()
    if scheduler.failure is not None:
        raise scheduler.failure
    return peak


class _Disjoint(Generic[T]):
    """The items in flight and the users they hold; the first failure stops new work, while
    calls in flight finish and get recorded."""

    def __init__(
        self, *, users: Callable[[T], frozenset[int]], work: Callable[[T], Awaitable[None]]
    ) -> None:
        self._users = users
        self._work = work
        self.running: set[int] = set()
        self._busy: set[int] = set()
        self._finished = asyncio.Event()
        self.failure: Exception | None = None
        self._ids = itertools.count()

    def start_ready(self, pending: list[T], group: asyncio.TaskGroup, *, concurrency: int) -> None:
        index = 0
        while index < len(pending) and len(self.running) < concurrency:
            touched = self._users(pending[index])
            if self._busy.isdisjoint(touched):
                item = pending.pop(index)
                self._busy.update(touched)
                key = next(self._ids)
                self.running.add(key)
                group.create_task(self._run(key, item, touched))
            else:
                index += 1

    async def _run(self, key: int, item: T, touched: frozenset[int]) -> None:
        try:
            await self._work(item)
        except Exception as error:  # kept, not raised: the TaskGroup would cancel the others
            self.failure = self.failure or error
        finally:
            self.running.discard(key)
            self._busy.difference_update(touched)
            self._finished.set()

    async def one_finished(self) -> None:
        await self._finished.wait()
        self._finished.clear()
