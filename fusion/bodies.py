"""The base of every JSON request body: taken as typed, never coerced.

Pydantic's lax mode would turn ``"with_groups": 0`` into ``false`` and ``"year": "2026"`` into
``2026``, so a caller's mistake passes silently and the API accepts what its own OpenAPI
document says it refuses. Request bodies validate strictly (JSON types as documented) and refuse
unknown fields; query and path parameters stay lax, as they arrive as text. Strict mode also
refuses ISO strings for ``datetime`` or ``UUID`` fields: mark such a field ``Field(strict=False)``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict

from fusion.auth import RouteHandler, api_routes, wrap_route_handler
from fusion.errors import PayloadTooLarge


class RequestBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


# Ten thousand codes with their ETags stay far below this; a JSON body beyond it is no request
# of ours, and reading it whole would let one client fill the service's memory.
MAX_JSON_BODY_BYTES = 4 * 1024 * 1024


def _body_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body exceeds {limit} bytes.",
        message_fr=f"Le corps de la requête dépasse {limit} octets.",
        details={"limit_bytes": limit},
    )


def _capped(limit: int) -> Callable[[RouteHandler], RouteHandler]:
    def wrap(handler: RouteHandler) -> RouteHandler:
        async def capped(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _body_too_large(limit)
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise _body_too_large(limit)
            request._body = bytes(body)  # Starlette's own cache: FastAPI reads it from there
            return await handler(request)

        return capped

    return wrap


def cap_request_bodies(app: FastAPI, *, limit: int = MAX_JSON_BODY_BYTES) -> None:
    """Every route that takes a typed body refuses one beyond `limit` (413) before FastAPI
    reads it whole; routes that stream their own body (backup uploads) keep their own limits."""
    for route in api_routes(app.routes):
        if route.body_field is not None:
            wrap_route_handler(route, _capped(limit))
