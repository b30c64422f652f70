"""The factory every service uses: errors, metrics, health, readiness and auth, the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fusion.auth import AuthConfig
from fusion.errors import install_error_handlers
from fusion.observability import ObservabilityMiddleware, metrics_response
from fusion.settings import FusionSettings

ReadinessCheck = Callable[[], Awaitable[None]]
ServiceLifespan = Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]
READINESS_TIMEOUT_SECONDS = 2.0


@asynccontextmanager
async def _no_resources(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {}


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

    for base in (prefix, ""):
        router.add_api_route(f"{base}/healthz", healthz, methods=["GET"])
        router.add_api_route(f"{base}/readyz", readiness, methods=["GET"])
        router.add_api_route(f"{base}/metrics", metrics, methods=["GET"],
                             include_in_schema=False)
    return router


def create_service_app(
    *,
    name: str,
    prefix: str,
    settings: FusionSettings,
    routers: Sequence[APIRouter] = (),
    lifespan: ServiceLifespan | None = None,
    title: str | None = None,
    description: str = "",
) -> FastAPI:
    """A FastAPI app whose lifespan state carries ``auth`` and ``readiness`` for the kit.

    The service's own ``lifespan`` yields its resources (database, bus, clients) as a dict; a
    ``readiness`` entry in it (name → async check) is served by ``{prefix}/readyz``.
    """
    resources = lifespan or _no_resources

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with resources(app) as state:
            yield {
                "readiness": {},
                **state,
                "auth": AuthConfig.from_settings(settings),
                "service": name,
            }

    app = FastAPI(
        title=title or f"Fusion {name}",
        description=description,
        lifespan=app_lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health_router(name=name, prefix=prefix))
    for router in routers:
        app.include_router(router)
    app.add_middleware(ObservabilityMiddleware, service=name)
    return app
