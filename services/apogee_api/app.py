from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.resources import open_database
from services.apogee_api.routes import router
from services.apogee_api.settings import Settings
from services.apogee_api.store import CatalogueStore

PREFIX = "/apogee"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # No metadata: the service never creates Apogée's tables.
        async with open_database(settings) as database:
            store = CatalogueStore(database=database, payment_states=settings.payment_states)
            await store.refresh()
            refresher = asyncio.create_task(
                store.refresh_forever(settings.catalogue_refresh_seconds)
            )
            try:
                yield {
                    "db": database,
                    "catalogue": store,
                    "settings": settings,
                    "readiness": {"database": database.ping},
                }
            finally:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher

    return create_service_app(
        name="apogee_api",
        prefix=PREFIX,
        settings=settings,
        lifespan=lifespan,
        routers=[router],
        title="Fusion — Apogée API",
        description="Apogée codes, students and groups, read-only, for Moodle plugins and "
        "Fusion's services.",
    )
