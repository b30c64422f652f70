"""The run queue: one worker per process executes runs one at a time, urgent ones first.

A teacher's course sync waits only for the run in progress, never for the scheduled ones
queued behind it. On shutdown the worker's stop flag is set: the run in progress stops at the
next batch boundary (it ends ``stopped`` and stays resumable) and nothing else is started.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fusion.tasks import StopSignal

log = logging.getLogger(__name__)

URGENT, SCHEDULED = 0, 1
# How often an idle worker looks at its stop flag.
_IDLE_CHECK_SECONDS = 0.5


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
        self._active: set[int] = set()  # queued or executing here

    def submit(self, run_id: int, *, urgent: bool = False) -> None:
        """Queue a run, unless this process already has it queued or executing: the lease
        watcher and a resume request may both name a run whose lease ran out."""
        if run_id in self._active:
            return
        self._active.add(run_id)
        self._queue.put_nowait(_Job(URGENT if urgent else SCHEDULED, next(self._seq), run_id))

    async def idle(self) -> None:
        """Wait until every submitted run has been executed."""
        await self._queue.join()

    async def work(self, stop: StopSignal) -> None:
        """The worker: a background task of the service, until ``stop`` is set."""
        while not stop():
            try:
                async with asyncio.timeout(_IDLE_CHECK_SECONDS):
                    job = await self._queue.get()
            except TimeoutError:
                continue
            try:
                await self._execute(job.run_id)
            except Exception:  # one broken run must not stop the ones behind it
                log.exception("sync run %s crashed", job.run_id)
            finally:
                self._active.discard(job.run_id)
                self._queue.task_done()
