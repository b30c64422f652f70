"""apogee_api: Apogée codes, students and groups, read only, from the catalogue in memory."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware

from fusion.app import create_service_app
from fusion.runtime import BackgroundTask, ServiceRuntime
from services.apogee_api.codes import describe
from services.apogee_api.lookup_cache import LookupCache, lookup_route
from services.apogee_api.routes import LOOKUP_PATH, LOOKUP_ROLES, router
from services.apogee_api.settings import Settings
from services.apogee_api.state import (
    ApogeeState,
    load_catalogue,
    open_state,
    readiness,
    refresh_catalogue,
)


def create_app(settings: Settings) -> FastAPI:
    # No metadata: the service never creates Apogée's tables.
    runtime: ServiceRuntime[ApogeeState] = ServiceRuntime(
        settings,
        state=open_state,
        startup=[load_catalogue],
        tasks=[BackgroundTask("apogee-catalogue-refresh", refresh_catalogue)],
        readiness=readiness,
    )
    return create_service_app(
        name="apogee_api",
        prefix="/apogee",
        settings=settings,
        runtime=runtime,
        routers=[router],
        title="Fusion — Apogée API",
        description="Apogée codes, students and groups, read-only, for Moodle plugins and "
        "Fusion's services.",
        middleware=[
            Middleware(
                LookupCache,
                route=lookup_route(router.routes, LOOKUP_PATH),
                roles=LOOKUP_ROLES,
                answer=describe,
            )
        ],
    )
