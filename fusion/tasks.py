"""Background work that stops gracefully: a flag first, a grace period, then cancellation.

A task is an ``async def work(stop: StopSignal)`` that looks at ``stop`` between units of work
(a batch, a poll) and naps through ``stop.sleep``, so that asking it to stop ends it at the
next boundary; only a task still busy when the grace period is over is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fusion.outage import OutageLog

__all__ = ["StopSignal", "TaskSupervisor", "every"]

logger = logging.getLogger(__name__)


class StopSignal:
    """Set once when the service stops; work checks it between units and naps through it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def __call__(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()

    async def sleep(self, seconds: float) -> bool:
        """Nap ``seconds`` unless asked to stop meanwhile; ``True`` when stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self._event.wait()
        return self()


Work = Callable[[StopSignal], Awaitable[None]]


class TaskSupervisor:
    """Starts named tasks and stops them all: flag, grace period, then cancel."""

    def __init__(self, *, grace_seconds: float = 10.0) -> None:
        self.stop_signal = StopSignal()
        self._grace_seconds = grace_seconds
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, work: Work) -> None:
        self._tasks.append(asyncio.create_task(self._guarded(name, work), name=name))

    async def _guarded(self, name: str, work: Work) -> None:
        try:
            await work(self.stop_signal)
        except Exception:  # a crashed task is a bug to read in the log, not a dead service
            logger.exception("background task %s crashed", name)

    async def stop(self) -> None:
        self.stop_signal.set()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._grace_seconds)
        for task in late:
            logger.warning("background task %s did not stop in time: cancelled", task.get_name())
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


def every(
    seconds: float,
    action: Callable[[], Awaitable[object]],
    *,
    what: str,
    outages: OutageLog,
    at_start: bool = False,
) -> Work:
    """A task that repeats ``action`` every ``seconds`` (first right away if ``at_start``); a
    failure is logged (throttled) and tried again at the next tick."""

    async def work(stop: StopSignal) -> None:
        first = at_start
        while (first and not stop()) or not await stop.sleep(seconds):
            first = False
            try:
                await action()
            except Exception as error:
                outages.failed(what, error)
            else:
                outages.recovered(what)

    return work
