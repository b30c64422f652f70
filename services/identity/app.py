"""identity: who a student or teacher is on each platform (the skeleton the service grows on)."""

from __future__ import annotations

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.runtime import ServiceRuntime, no_state
from services.identity.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    runtime: ServiceRuntime[None] = ServiceRuntime(settings, state=no_state)
    return create_service_app(
        name="identity",
        prefix="/identity",
        settings=settings,
        runtime=runtime,
        title="Fusion — Identity",
    )
