"""Code lookups answered without FastAPI's routing, and kept as the bytes sent.

A code lookup (``GET /apogee/v1/codes/{code}``, what a course-creation form sends as a teacher
types) reads only the catalogue in memory, so its answer changes only when the catalogue is
swapped. Going through FastAPI's routing, dependency resolution and response validation cost
five times what building the answer did (profiled). So, after the same checks of the token and
the role as the route's:

- a request of the plain form (a code matching the route's pattern, no query string or only
  ``year=NNNN`` within the route's bounds) for a known code and year is answered here, by the
  route's own function (``codes.describe``) serialised as FastAPI does (a test compares the
  bytes);
- the first 200 answer for a path and query string is kept, as the bytes sent, in the
  catalogue snapshot it was built from, and the same request is answered from those bytes.

A refresh swaps the snapshot, and with it the cache: an answer is never served from a catalogue
other than the one being served. Anything else goes through the route as before: another path
or method, a missing or refused token (the route answers the 401/403 in the envelope), an
unknown code or year, any other query. The kit's observability middleware is outside this one,
so an answer given here is counted, timed and logged under the route's template like any
other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fusion.auth import allowed_principal
from fusion.dependencies import running
from fusion.settings import Role
from services.apogee_api.catalogue import Catalogue, CodeEntry
from services.apogee_api.deps import YEAR_MAX, YEAR_MIN
from services.apogee_api.schemas import CODE_PATTERN
from services.apogee_api.state import ApogeeState
from services.apogee_api.store import Snapshot


class Answer(Protocol):
    def __call__(self, catalogue: Catalogue, entry: CodeEntry, *, year: int) -> BaseModel: ...


# fullmatch of the pattern without its anchors: "$" would also match before a final newline.
_CODE = re.compile(CODE_PATTERN.removeprefix("^").removesuffix("$"))
_YEAR_ONLY = re.compile(rb"year=([0-9]{4})")
JSON_HEADERS = [(b"content-type", b"application/json")]

# Codes of a university (~60,000 with groups) at ~600 bytes each: bounded whatever is asked.
MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    headers: list[tuple[bytes, bytes]]
    body: bytes


def lookup_route(routes: list[Any], path: str) -> APIRoute:
    found = [r for r in routes if isinstance(r, APIRoute) and r.path == path]
    if len(found) != 1 or "GET" not in (found[0].methods or ()):
        raise RuntimeError(f"no single GET route {path}")
    return found[0]


class LookupCache:
    """Pure ASGI: serves the cached bytes of ``route`` (one GET route that reads only the
    catalogue) to a caller whose role is one of ``roles``."""

    def __init__(
        self, app: ASGIApp, *, route: APIRoute, roles: tuple[Role, ...], answer: Answer
    ) -> None:
        self.app = app
        self.route = route
        self.roles = roles
        self.answer = answer
        self.prefix = route.path.split("{", 1)[0]  # "/apogee/v1/codes/"

    def _candidate(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        path: str = scope["path"]
        return path.startswith(self.prefix) and "/" not in path[len(self.prefix) :]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._candidate(scope):
            await self.app(scope, receive, send)
            return
        snapshot = _snapshot(scope)
        if snapshot is None or allowed_principal(scope, self.roles) is None:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""))
        answer = snapshot.responses.get(key) or self._direct(snapshot, *key)
        if answer is None:
            await self._fill(scope, receive, send, snapshot, key)
            return
        _keep(snapshot, key, answer)
        scope["route"] = self.route  # the access log and metrics name the template
        await send({"type": "http.response.start", "status": 200, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})

    def _direct(self, snapshot: Snapshot, path: str, query: bytes) -> CachedAnswer | None:
        """The answer of the plain form of the request, or None for the route to judge."""
        code = path[len(self.prefix) :]
        if not _CODE.fullmatch(code):
            return None
        catalogue = snapshot.catalogue
        year = catalogue.current_year
        if query:
            found = _YEAR_ONLY.fullmatch(query)
            if found is None:
                return None
            year = int(found.group(1))
            if not YEAR_MIN <= year <= YEAR_MAX or year not in catalogue.years:
                return None
        entry = catalogue.get(code)
        if entry is None:
            return None
        body = self.answer(catalogue, entry, year=year).model_dump_json(by_alias=True).encode()
        return CachedAnswer([(b"content-length", str(len(body)).encode()), *JSON_HEADERS], body)

    async def _fill(
        self, scope: Scope, receive: Receive, send: Send, snapshot: Snapshot, key: Any
    ) -> None:
        start: Message | None = None
        parts: list[bytes] = []
        complete = False

        async def recording(message: Message) -> None:
            nonlocal start, complete
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, recording)
        # Kept only when the whole answer is a 200 built from the snapshot still served.
        if (
            start is None
            or start["status"] != 200
            or not complete
            or _snapshot(scope) is not snapshot
        ):
            return
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", ())]
        _keep(snapshot, key, CachedAnswer(headers, b"".join(parts)))


def _keep(snapshot: Snapshot, key: Any, answer: CachedAnswer) -> None:
    if key in snapshot.responses:
        return
    if len(snapshot.responses) >= MAX_ENTRIES:
        del snapshot.responses[next(iter(snapshot.responses))]  # the oldest goes
    snapshot.responses[key] = answer


def _snapshot(scope: Scope) -> Snapshot | None:
    state = running(Request(scope)).state
    return state.catalogue.current if isinstance(state, ApogeeState) else None
