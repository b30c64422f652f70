"""Hosting several service apps in one process: each keeps its own lifespan and state.

Starlette's ``Mount`` neither runs a sub-app's lifespan nor passes its state, so the all-in-one
process and the tests host each service app through ``HostedApp``, and ``PrefixDispatcher``
routes by the first path segment exactly as the load balancer does in the distributed mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from starlette.types import Receive, Scope, Send


class HostedApp:
    def __init__(self, app: Any, *, root_path: str = "") -> None:
        self.app = app
        self.root_path = root_path  # for apps whose routes do not carry their mount prefix
        self.state: dict[str, Any] = {}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[HostedApp]:
        async with self.app.router.lifespan_context(self.app) as state:
            self.state = dict(state or {})
            try:
                yield self
            finally:
                self.state = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(self.state)}
            if self.root_path:
                scope["root_path"] = scope.get("root_path", "") + self.root_path
        await self.app(scope, receive, send)


class PrefixDispatcher:
    """Sends ``/<prefix>/...`` to the app of that prefix, anything else to ``fallback``."""

    def __init__(self, apps: dict[str, HostedApp], fallback: HostedApp) -> None:
        self.apps = apps
        self.fallback = fallback
        self._stack: AsyncExitStack | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PrefixDispatcher]:
        async with AsyncExitStack() as stack:
            for hosted in [*self.apps.values(), self.fallback]:
                await stack.enter_async_context(hosted.running())
            yield self

    def _target(self, path: str) -> HostedApp:
        first = "/" + path.lstrip("/").split("/", 1)[0]
        return self.apps.get(first, self.fallback)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._target(scope["path"])(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        stack = AsyncExitStack()
        try:
            await stack.enter_async_context(self.running())
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            raise
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        await stack.aclose()
        await send({"type": "lifespan.shutdown.complete"})
