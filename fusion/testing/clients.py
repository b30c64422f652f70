from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from fusion.asgi import HostedApp

DEMO_HEADERS = {
    "admin": {"Authorization": "Bearer demo-admin"},
    "plugin": {"Authorization": "Bearer demo-plugin"},
    "service": {"Authorization": "Bearer demo-service"},
}


@asynccontextmanager
async def asgi_client(
    app: Any, *, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the app through the ASGI transport, with its lifespan running."""
    async with HostedApp(app).running() as hosted:
        transport = httpx.ASGITransport(app=hosted)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
