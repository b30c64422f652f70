from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.http import create_http_client
from fusion.resources import standard_resources
from services.migration_orchestrator.preflight.routes import create_preflight_router
from services.migration_orchestrator.routes import create_router
from services.migration_orchestrator.settings import Settings

PREFIX = "/migrations"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with (
            standard_resources(settings) as state,
            create_http_client(settings) as moodle_http,
        ):
            yield {**state, "moodle_http": moodle_http}

    return create_service_app(
        name="migration_orchestrator",
        prefix=PREFIX,
        settings=settings,
        lifespan=lifespan,
        routers=[
            create_preflight_router(limits=settings.preflight),
            create_router(platforms=settings.platforms),
        ],
        title="Fusion — Migration orchestrator",
    )
