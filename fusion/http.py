"""Long-lived HTTP clients with explicit timeouts, one per upstream, that keep no cookies.

An upstream client is shared by every request a service handles, for every user: a cookie one
answer set (a Moodle session cookie, a load balancer's affinity cookie) would be sent with the
next call made for someone else. Each call authenticates itself (a token), so nothing is kept;
httpx has no switch for it (encode/httpx#2992), so the client's cookies are a jar that drops
what it is given, which also spares each answer the parsing of its headers into a cookie jar.
"""

from __future__ import annotations

from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

from fusion.observability import correlation_id
from fusion.settings import HttpClientFragment


async def _forward_correlation_id(request: httpx.Request) -> None:
    cid = correlation_id.get()
    if cid and "x-correlation-id" not in request.headers:
        request.headers["x-correlation-id"] = cid


class _DroppingJar(CookieJar):
    def set_cookie(self, cookie: Cookie) -> None:
        del cookie


class _NoCookies(httpx.Cookies):
    """Cookies that stay empty: what an answer sets is not even read."""

    def __init__(self) -> None:
        super().__init__(_DroppingJar())

    def extract_cookies(self, response: httpx.Response) -> None:
        del response


_NONE_KEPT = _NoCookies()  # shared: it can hold nothing


class UpstreamClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose cookies stay empty (module docstring)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NONE_KEPT

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        del cookies
        raise TypeError("an upstream client keeps no cookies")


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
    return UpstreamClient(
        base_url=base_url,
        headers=headers,
        timeout=timeout,
        limits=limits,
        transport=transport,
        event_hooks={"request": [_forward_correlation_id]},
    )
