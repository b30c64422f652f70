"""migration_orchestrator: courses from the historical platforms into the merged one."""

from __future__ import annotations

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.bus import Bus
from fusion.contracts import MigrationStateChanged
from fusion.runtime import BackgroundTask, Seams, ServiceRuntime, Subscription
from services.migration_orchestrator.migrations.driver import (
    STEPS_QUEUE,
    on_state_changed,
    prepare,
    watch_leases,
)
from services.migration_orchestrator.migrations.models import messaging, metadata, schema
from services.migration_orchestrator.migrations.routes import router as migrations_router
from services.migration_orchestrator.pages.app import install_pages
from services.migration_orchestrator.pages.resources import create_web
from services.migration_orchestrator.preflight.routes import create_preflight_router
from services.migration_orchestrator.routes import create_router
from services.migration_orchestrator.services import Transports
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.state import OrchestratorState, state_factory
from services.migration_orchestrator.workers.api import router as workers_router
from services.migration_orchestrator.workers.runtime import run_inprocess_workers


def create_app(
    settings: Settings, *, transports: Transports | None = None, bus: Bus | None = None
) -> FastAPI:
    """Transports and bus are seams for tests and the all-in-one process."""
    # The pages are served only where a key signs their cookies (every replica shares it).
    web = create_web(settings) if settings.web_secret_key is not None else None
    steps = Subscription(
        STEPS_QUEUE,
        MigrationStateChanged,
        on_state_changed,
        prefetch=settings.steps_prefetch,
        deduplicate=False,
    )
    runtime: ServiceRuntime[OrchestratorState] = ServiceRuntime(
        settings,
        state=state_factory(web),
        metadata=metadata,
        messaging=messaging,
        schema=schema,
        subscriptions=[steps],
        tasks=[
            BackgroundTask("orchestrator-lease-watch", watch_leases),
            *(
                [BackgroundTask("orchestrator-inprocess-workers", run_inprocess_workers)]
                if settings.inprocess_workers
                else []
            ),
        ],
        startup=[prepare],
        seams=Seams(bus=bus, transports=(transports or Transports()).by_upstream()),
    )
    app = create_service_app(
        name="migration_orchestrator",
        prefix="/migrations",
        settings=settings,
        runtime=runtime,
        routers=[
            create_preflight_router(limits=settings.preflight),
            create_router(platforms=settings.platforms),
            migrations_router,
            workers_router,
        ],
        title="Fusion — Migration orchestrator",
    )
    if web is not None:
        install_pages(app, web)
    return app
