"""The factory every service uses: errors, metrics, health, readiness and auth, the same way."""

from __future__ import annotations

import asyncio
import importlib.resources
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware

from fusion.auth import AuthConfig, check_credentials_first
from fusion.bodies import cap_request_bodies
from fusion.errors import COMMON_ERRORS, install_error_handlers
from fusion.observability import ObservabilityMiddleware, metrics_response
from fusion.openapi import install_openapi
from fusion.runtime import ServiceRuntime, no_state
from fusion.settings import FusionSettings

ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_TIMEOUT_SECONDS = 2.0


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # a readiness probe reports any failure, it does not raise
        return f"failed: {type(exc).__name__}"
    return "ok"


async def readiness(request: Request) -> JSONResponse:
    checks: dict[str, ReadinessCheck] = request.state.readiness
    results = {name: await _run_check(check) for name, check in checks.items()}
    ready = all(result == "ok" for result in results.values())
    body = {"status": "ready" if ready else "not_ready", "checks": results}
    return JSONResponse(body, status_code=200 if ready else 503)


def health_router(*, name: str, prefix: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    async def metrics() -> Response:
        return metrics_response()

    for base in (prefix, ""):  # the bare paths serve a probe that knows only the process
        documented = base == prefix
        router.add_api_route(
            f"{base}/healthz", healthz, methods=["GET"], include_in_schema=documented
        )
        router.add_api_route(
            f"{base}/readyz",
            readiness,
            methods=["GET"],
            include_in_schema=documented,
            responses={503: {"description": "A dependency does not answer"}},
        )
        router.add_api_route(f"{base}/metrics", metrics, methods=["GET"], include_in_schema=False)
    return router


DOCS_ASSETS = Path(str(importlib.resources.files("fastapi_offline") / "static"))


def docs_router(*, prefix: str, title: str) -> APIRouter:
    """Swagger UI served from our own assets: the university's network may not reach a CDN."""
    router = APIRouter(include_in_schema=False)

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json",
            title=title,
            swagger_js_url=f"{prefix}/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}/docs-assets/swagger-ui.css",
            swagger_favicon_url=f"{prefix}/docs-assets/favicon.png",
        )

    router.add_api_route(f"{prefix}/docs", docs, methods=["GET"])
    return router


def create_service_app(
    *,
    name: str,
    prefix: str,
    settings: FusionSettings,
    runtime: ServiceRuntime[Any] | None = None,
    routers: Sequence[APIRouter] = (),
    title: str | None = None,
    description: str = "",
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """A FastAPI app started through ``runtime`` (see ``fusion.runtime``); its lifespan state
    carries the typed ``runtime`` state for the service's ``deps.py``, and ``auth`` and
    ``readiness`` (served by ``{prefix}/readyz``) for the kit. Without ``runtime``: an app
    that owns nothing (the kit's own tests). ``middleware`` (pure ASGI, a service's fast paths)
    runs inside the kit's observability: its requests are counted, timed and logged too."""
    runtime = runtime or ServiceRuntime(settings, state=no_state)

    @asynccontextmanager
    async def app_lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with runtime.lifespan() as running:
            yield {
                "runtime": running,
                "readiness": running.readiness,
                "auth": AuthConfig.from_settings(settings),
                "service": name,
            }

    app = FastAPI(
        title=title or f"Fusion {name}",
        description=description,
        lifespan=app_lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(docs_router(prefix=prefix, title=app.title))
    app.mount(f"{prefix}/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.include_router(health_router(name=name, prefix=prefix))
    for router in routers:
        app.include_router(router, responses=COMMON_ERRORS)
    cap_request_bodies(app)
    check_credentials_first(app)  # outermost: no body is read for a caller without a token
    for inner in reversed(middleware):  # the first one listed is the outermost of them
        app.add_middleware(inner.cls, *inner.args, **inner.kwargs)
    app.add_middleware(ObservabilityMiddleware, service=name)
    install_openapi(app)  # bearer scheme, operation ids, tag and probe descriptions
    return app
