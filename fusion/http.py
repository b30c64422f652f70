"""Long-lived HTTP clients with explicit timeouts, one per upstream."""

from __future__ import annotations

import httpx

from fusion.observability import correlation_id
from fusion.settings import HttpClientFragment


async def _forward_correlation_id(request: httpx.Request) -> None:
    cid = correlation_id.get()
    if cid and "x-correlation-id" not in request.headers:
        request.headers["x-correlation-id"] = cid


def create_http_client(
    settings: HttpClientFragment,
    *,
    base_url: str = "",
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client for one upstream; tests pass ``transport`` (ASGI or mock) instead of patching."""
    timeout = httpx.Timeout(
        settings.http_read_timeout_seconds, connect=settings.http_connect_timeout_seconds
    )
    limits = httpx.Limits(
        max_connections=settings.http_max_connections,
        max_keepalive_connections=settings.http_max_connections,
    )
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=timeout,
        limits=limits,
        transport=transport,
        event_hooks={"request": [_forward_correlation_id]},
    )
