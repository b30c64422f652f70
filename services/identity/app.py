from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.resources import standard_resources
from services.identity.settings import Settings

PREFIX = "/identity"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with standard_resources(settings) as state:
            yield state

    return create_service_app(
        name="identity",
        prefix=PREFIX,
        settings=settings,
        lifespan=lifespan,
        title="Fusion — Identity",
    )
