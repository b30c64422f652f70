from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.bus import Bus
from fusion.resources import bus_ready, open_bus, running_housekeeping, running_relay
from services.migration_orchestrator.metrics import refresh_loop
from services.migration_orchestrator.migrations.driver import prepare, subscribe_steps, watch_leases
from services.migration_orchestrator.migrations.models import messaging
from services.migration_orchestrator.migrations.routes import router as migrations_router
from services.migration_orchestrator.preflight.routes import create_preflight_router
from services.migration_orchestrator.routes import create_router
from services.migration_orchestrator.services import Transports, open_orchestrator
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.workers.api import router as workers_router
from services.migration_orchestrator.workers.runtime import start_inprocess_workers

PREFIX = "/migrations"


def create_app(
    settings: Settings, *, transports: Transports | None = None, bus: Bus | None = None
) -> FastAPI:
    """Transports and bus are seams for tests and the all-in-one process."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            orchestrator = await stack.enter_async_context(
                open_orchestrator(settings, transports=transports or Transports())
            )
            events = bus if bus is not None else await stack.enter_async_context(open_bus(settings))
            await prepare(orchestrator)
            await subscribe_steps(events, orchestrator)
            relay = await stack.enter_async_context(
                running_relay(database=orchestrator.db, bus=events, outbox=messaging.outbox)
            )
            await stack.enter_async_context(running_housekeeping(orchestrator.db, messaging))
            _background(stack, watch_leases(orchestrator))
            _background(stack, refresh_loop(orchestrator))
            if settings.inprocess_workers:
                await start_inprocess_workers(stack, events, settings)
            readiness = {"database": orchestrator.db.ping, "broker": partial(bus_ready, events)}
            yield {
                "orchestrator": orchestrator,
                "moodle_http": orchestrator.moodle_http,
                "relay": relay,
                "readiness": readiness,
            }

    return create_service_app(
        name="migration_orchestrator",
        prefix=PREFIX,
        settings=settings,
        lifespan=lifespan,
        routers=[
            create_preflight_router(limits=settings.preflight),
            create_router(platforms=settings.platforms),
            migrations_router,
            workers_router,
        ],
        title="Fusion — Migration orchestrator",
    )


def _background(stack: AsyncExitStack, work: Any) -> None:
    task = asyncio.create_task(work)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
