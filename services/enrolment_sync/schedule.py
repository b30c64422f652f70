"""When runs happen: three a day by cron expression, on demand ahead of scheduled work.

One worker per process executes runs one at a time from a priority queue, so a teacher's
course sync waits only for the run in progress, never for the scheduled ones queued behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from croniter import croniter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import TooManyRequests
from services.enrolment_sync.models import SyncRun, utcnow

log = logging.getLogger(__name__)

URGENT, SCHEDULED = 0, 1
# Bounds each wait of the schedule loop, so that a changed clock is noticed within a minute.
_MAX_NAP_SECONDS = 60.0


class CourseSyncTooSoon(TooManyRequests):
    code = "course_sync_too_soon"


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    run_id: int = field(compare=False)


class SyncRunner:
    def __init__(self, *, execute: Callable[[int], Awaitable[object]]) -> None:
        self._execute = execute
        self._queue: asyncio.PriorityQueue[_Job] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self._active: set[int] = set()  # queued or executing here
        self.stopping = False

    def submit(self, run_id: int, *, urgent: bool = False) -> None:
        """Queue a run, unless this process already has it queued or executing: the lease
        watcher and a resume request may both name a run whose lease ran out."""
        if run_id in self._active:
            return
        self._active.add(run_id)
        self._queue.put_nowait(_Job(URGENT if urgent else SCHEDULED, next(self._seq), run_id))

    def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="enrolment-sync-runner")

    async def idle(self) -> None:
        """Wait until every submitted run has been executed."""
        await self._queue.join()

    async def stop(self) -> None:
        """Let the current run stop between batches (it stays resumable), then end the worker."""
        self.stopping = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._execute(job.run_id)
            except Exception:  # one broken run must not stop the ones behind it
                log.exception("sync run %s crashed", job.run_id)
            finally:
                self._active.discard(job.run_id)
                self._queue.task_done()


def next_fire(expressions: Sequence[str], after: datetime) -> tuple[datetime, int]:
    """The next time one of the cron expressions fires, and which one."""
    fires = [(croniter(expr, after).get_next(datetime), i) for i, expr in enumerate(expressions)]
    return min(fires)


async def schedule_loop(
    *,
    expressions: Sequence[str],
    full_index: int,
    launch: Callable[[str, datetime], Awaitable[None]],
    now: Callable[[], datetime] = utcnow,
) -> None:
    """Launch a full run at the ``full_index`` schedule and incremental runs at the others."""
    if not expressions:
        return
    due, index = next_fire(expressions, now())
    while True:
        wait = (due - now()).total_seconds()
        if wait > 0:
            await asyncio.sleep(min(wait, _MAX_NAP_SECONDS))
            continue
        await launch("full" if index == full_index else "incremental", due)
        due, index = next_fire(expressions, due)


async def check_course_rate(session: AsyncSession, course_id: int, *, min_seconds: float) -> None:
    """A teacher's button may not hammer Moodle: one on-demand run per course per interval."""
    since = utcnow() - timedelta(seconds=min_seconds)
    recent = await session.scalar(
        select(col(SyncRun.started_at))
        .where(
            col(SyncRun.kind) == "course",
            col(SyncRun.course_id) == course_id,
            col(SyncRun.dry_run).is_(False),
            col(SyncRun.started_at) > since,
        )
        .order_by(col(SyncRun.started_at).desc())
        .limit(1)
    )
    if recent is not None:
        retry = max(1, int(min_seconds - (utcnow() - recent).total_seconds()))
        raise CourseSyncTooSoon(
            f"Course {course_id} was synchronised moments ago; try again in {retry} s.",
            message_fr=f"Le cours {course_id} vient d'être synchronisé ; réessayez dans {retry} s.",
            details={"retry_after_seconds": retry},
        )
