"""Work that needs a dependency which may be down when a service starts (the database, the
broker): the service starts anyway, says what waits on ``/readyz``, and tries again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fusion.bus import BusUnavailable
from fusion.outage import is_outage
from fusion.resources import ReadinessCheck, Resources
from fusion.tasks import StopSignal

RETRY_SECONDS = 1.0


class Pending:
    """Work that needs a dependency: tried at once, and if the dependency is down, again in the
    background until it works; readiness says ``waiting`` meanwhile."""

    def __init__(self, readiness: dict[str, ReadinessCheck]) -> None:
        self._readiness = readiness

    async def until_done(
        self, what: str, work: Callable[[], Awaitable[None]], resources: Resources
    ) -> None:
        try:
            await work()
            return
        except Exception as error:
            if not is_outage(error):
                raise
            resources.outages.failed(what, error)
        done = asyncio.Event()

        async def retry(stop: StopSignal) -> None:
            while not await stop.sleep(RETRY_SECONDS):
                try:
                    await work()
                except Exception as error:
                    resources.outages.failed(what, error)
                else:
                    resources.outages.recovered(what)
                    done.set()
                    return

        async def waiting() -> None:
            if not done.is_set():
                raise BusUnavailable(f"{what} is waiting for its dependencies")

        self._readiness[what] = waiting
        resources.supervisor.start(f"retry {what}", retry)
