from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.http import create_http_client
from fusion.resources import standard_resources
from services.migration_orchestrator.pages.app import install_pages
from services.migration_orchestrator.pages.resources import create_web, open_pages
from services.migration_orchestrator.preflight.routes import create_preflight_router
from services.migration_orchestrator.routes import create_router
from services.migration_orchestrator.settings import Settings

PREFIX = "/migrations"


def create_app(settings: Settings) -> FastAPI:
    # The pages are served only where a key signs their cookies (every replica shares it).
    web = create_web(settings) if settings.web_secret_key is not None else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            state = await stack.enter_async_context(standard_resources(settings))
            moodle_http = await stack.enter_async_context(create_http_client(settings))
            extra: dict[str, Any] = {"moodle_http": moodle_http}
            if web is not None:
                pages = open_pages(
                    settings,
                    web,
                    http_settings=settings,
                    platforms=settings.platforms,
                    acting_user_header=settings.acting_user_header,
                )
                extra["pages"] = await stack.enter_async_context(pages)
            yield {**state, **extra}

    app = create_service_app(
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
    if web is not None:
        install_pages(app, web)
    return app
