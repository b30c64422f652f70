"""A service's consumers stop with its lifespan, before its database closes, even on a bus
that outlives it (the all-in-one mode's shared in-process bus, a test's)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from fusion.bus import MemoryBus
from fusion.contracts import Envelope, RunBackup
from fusion.runtime import Seams, ServiceRuntime, Subscription, no_state
from fusion.settings import ServiceSettings


class _Settings(ServiceSettings):
    service_name: ClassVar[str] = "consumers-test"


async def test_a_service_stops_consuming_when_its_lifespan_ends_on_a_bus_that_stays(
    tmp_path: Path,
) -> None:
    handled: list[int] = []

    async def on_backup(payload: RunBackup, **_: Any) -> None:
        handled.append(payload.migration_id)

    settings = _Settings(
        environment="test",
        database_url=SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"),
        database_create_tables=True,
    )
    subscription = Subscription(
        "backups", RunBackup, on_backup, bindings=("backup.run.*",), deduplicate=False
    )
    queue = subscription.spec(settings)
    async with MemoryBus() as bus:
        runtime: ServiceRuntime[None] = ServiceRuntime(
            settings, state=no_state, subscriptions=[subscription], seams=Seams(bus=bus)
        )
        async with runtime.lifespan():
            await bus.publish(Envelope.of(RunBackup(migration_id=1, platform="ub1")))
            for _ in range(200):  # bounded: at most 2 s
                if handled:
                    break
                await asyncio.sleep(0.01)
            assert handled == [1]

        # The service is gone; the bus is not. What comes now waits in its queue.
        later = Envelope.of(RunBackup(migration_id=2, platform="ub1"))
        await bus.publish(later)
        taken: asyncio.Queue[Envelope] = asyncio.Queue()
        await bus.subscribe(queue, lambda envelope: taken.put(envelope))
        assert await asyncio.wait_for(taken.get(), timeout=10) == later
        assert handled == [1]
