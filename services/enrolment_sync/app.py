"""enrolment_sync: Apogée rosters into Moodle, in batches, writing only the difference."""

from __future__ import annotations

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.runtime import BackgroundTask, Seams, ServiceRuntime
from services.enrolment_sync.consumers import SUBSCRIPTIONS
from services.enrolment_sync.cron import run_schedule
from services.enrolment_sync.models import messaging, metadata, schema
from services.enrolment_sync.resume import resume_interrupted, watch_leases
from services.enrolment_sync.routes import router
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.state import SyncState, open_state


def create_app(settings: Settings, *, seams: Seams | None = None) -> FastAPI:
    """``seams``: the tests' and the all-in-one process's bus and HTTP transports."""
    runtime: ServiceRuntime[SyncState] = ServiceRuntime(
        settings,
        state=open_state,
        metadata=metadata,
        messaging=messaging,
        schema=schema,
        subscriptions=SUBSCRIPTIONS,
        tasks=[
            BackgroundTask("sync-runner", lambda state, stop: state.runner.work(stop)),
            BackgroundTask("sync-lease-watch", watch_leases),
            BackgroundTask("sync-schedule", run_schedule),
        ],
        startup=[resume_interrupted],
        seams=seams or Seams(),
    )
    return create_service_app(
        name="enrolment_sync",
        prefix="/sync",
        settings=settings,
        runtime=runtime,
        routers=[router],
        title="Fusion — Enrolment sync",
    )
