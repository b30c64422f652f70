"""identity: one person, one account on every platform, before any course moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import httpx
from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.bus import Bus
from fusion.resources import bus_ready, open_bus, running_housekeeping, running_relay
from services.identity.models import messaging
from services.identity.resources import open_services
from services.identity.routes import router
from services.identity.settings import Settings

PREFIX = "/identity"


def create_app(
    settings: Settings,
    *,
    moodle_transport: httpx.AsyncBaseTransport | None = None,
    bus: Bus | None = None,
) -> FastAPI:
    """The transport and bus are seams for tests and the all-in-one process."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            events: Bus = (
                bus if bus is not None else await stack.enter_async_context(open_bus(settings))
            )
            services = await stack.enter_async_context(
                open_services(settings, moodle_transport=moodle_transport)
            )
            db = services.db
            await stack.enter_async_context(
                running_relay(database=db, bus=events, outbox=messaging.outbox)
            )
            await stack.enter_async_context(running_housekeeping(db, messaging))
            readiness = {"database": db.ping, "broker": partial(bus_ready, events)}
            yield {"identity": services, "readiness": readiness}

    return create_service_app(
        name="identity",
        prefix=PREFIX,
        settings=settings,
        lifespan=lifespan,
        routers=[router],
        title="Fusion — Identity",
        description="Persons from the reference directory, their accounts on every Moodle "
        "platform, the conflicts between them, homogenisation plans, and the restore-check the "
        "orchestrator asks before a restore.",
    )
