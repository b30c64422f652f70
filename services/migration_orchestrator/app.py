"""migration_orchestrator: courses from the historical platforms into the merged one."""

from __future__ import annotations

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.runtime import ServiceRuntime
from services.migration_orchestrator.preflight.routes import create_preflight_router
from services.migration_orchestrator.routes import create_router
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.state import OrchestratorState, open_state


def create_app(settings: Settings) -> FastAPI:
    runtime: ServiceRuntime[OrchestratorState] = ServiceRuntime(settings, state=open_state)
    return create_service_app(
        name="migration_orchestrator",
        prefix="/migrations",
        settings=settings,
        runtime=runtime,
        routers=[
            create_preflight_router(limits=settings.preflight),
            create_router(platforms=settings.platforms),
        ],
        title="Fusion — Migration orchestrator",
    )
