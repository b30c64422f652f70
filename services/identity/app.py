from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.resources import bus_ready, open_bus, open_database
from services.identity.settings import Settings

PREFIX = "/identity"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_database(settings) as database, open_bus(settings) as bus:
            readiness = {"database": database.ping, "broker": partial(bus_ready, bus)}
            yield {"db": database, "bus": bus, "readiness": readiness}

    return create_service_app(
        name="identity",
        prefix=PREFIX,
        settings=settings,
        lifespan=lifespan,
        title="Fusion — Identity",
    )
