"""identity: one person, one account on every platform, before any course moves."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.bus import Bus
from fusion.runtime import BackgroundTask, Seams, ServiceRuntime
from services.identity.models import messaging, metadata, schema
from services.identity.resources import IdentityServices, open_services
from services.identity.resume import resume_abandoned, watch_leases
from services.identity.routes import router
from services.identity.settings import Settings


def create_app(
    settings: Settings,
    *,
    moodle_transport: httpx.AsyncBaseTransport | None = None,
    bus: Bus | None = None,
) -> FastAPI:
    """The transport and bus are seams for tests and the all-in-one process."""
    transports = {"moodle": moodle_transport} if moodle_transport is not None else {}
    runtime: ServiceRuntime[IdentityServices] = ServiceRuntime(
        settings,
        state=open_services,
        metadata=metadata,
        messaging=messaging,
        schema=schema,
        # imports and plans whose process died: resumed at start, then every half lease
        startup=[resume_abandoned],
        tasks=[BackgroundTask("identity-lease-watch", watch_leases)],
        seams=Seams(bus=bus, transports=transports),
    )
    return create_service_app(
        name="identity",
        prefix="/identity",
        settings=settings,
        runtime=runtime,
        routers=[router],
        title="Fusion — Identity",
        description="Persons from the reference directory, their accounts on every Moodle "
        "platform, the conflicts between them, homogenisation plans, and the restore-check the "
        "orchestrator asks before a restore.",
    )
