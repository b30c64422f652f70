"""Claims that found every backup slot of a platform busy wait for one to be released, instead
of the workers holding tokens asking again and again (a request and a transaction each time).

A release in this process (a backup stored or failed through the worker API) wakes the claims
waiting here, which ask again at once: the slot is given within one transaction of its
release. A slot released elsewhere (another replica, the lease watcher, a cancellation) is seen
when the wait runs out and the claim answers ``busy``; the worker then asks again.

``fusion_migration_orchestrator_claims_waiting`` counts the claims waiting now, by platform:
often above zero, the platform's concurrency is what holds its migrations back.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge

WAITING = Gauge(
    "fusion_migration_orchestrator_claims_waiting",
    "Backup claims waiting for a slot of their platform to be released, in this process.",
    ["platform"],
)


class SlotReleases:
    def __init__(self) -> None:
        self._next: dict[str, asyncio.Event] = {}

    def watch(self, platform: str) -> asyncio.Event:
        """Set at the next release of a slot of ``platform``: watch before looking at the
        slots, so a release between the look and the wait is not missed."""
        return self._next.setdefault(platform, asyncio.Event())

    def released(self, platform: str) -> None:
        event = self._next.pop(platform, None)
        if event is not None:
            event.set()


async def released_within(event: asyncio.Event, seconds: float, *, platform: str) -> bool:
    WAITING.labels(platform).inc()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    finally:
        WAITING.labels(platform).dec()
    return True
