"""The pages' client of enrolment_sync (never imported: REST only).

Apogée is the kit's client (``fusion.apogee``), shared with the orchestrator and the sync;
identity is the orchestrator's (``clients.identity``), shared with the migration steps.

An upstream's error envelope becomes the same kind of ``FusionError`` here, with its French and
English messages, so a page can show the teacher what the service said.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from fusion.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    FusionError,
    NotFound,
    TooManyRequests,
    UpstreamError,
    UpstreamUnavailable,
)
from services.migration_orchestrator.pages.schemas import (
    CourseResults,
    Methods,
    Run,
    RunCourses,
    Runs,
)

M = TypeVar("M", bound=BaseModel)
_BY_STATUS: dict[int, type[FusionError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: BadRequest,
    429: TooManyRequests,
}


class _Upstream:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str, name: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._name = name

    async def _request(
        self,
        method: str,
        path: str,
        *,
        token: str,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = {"authorization": f"Bearer {token}", **(headers or {})}
        try:
            response = await self._http.request(method, self._base + path, headers=sent, **kwargs)
        except httpx.TransportError as error:
            raise UpstreamUnavailable(
                f"{self._name} cannot be reached ({type(error).__name__}).",
                message_fr=f"Le service {self._name} est injoignable ({type(error).__name__}).",
            ) from error
        if response.is_error:
            raise _error_of(response, self._name)
        return response

    async def _json(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate((await self._request(method, path, **kwargs)).json())


def _error_of(response: httpx.Response, name: str) -> FusionError:
    try:
        error = response.json()["error"]
        message, message_fr = str(error["message"]), str(error["message_fr"])
    except (ValueError, KeyError, TypeError):
        message = f"{name} answered HTTP {response.status_code}."
        message_fr = f"Le service {name} a répondu HTTP {response.status_code}."
    kind = _BY_STATUS.get(response.status_code, UpstreamError)
    return kind(message, message_fr=message_fr)


class SyncClient(_Upstream):
    """``acting_user`` calls go with the plugin token: enrolment_sync checks they teach."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        token: str,
        plugin_token: str,
        acting_user_header: str,
    ) -> None:
        super().__init__(http, base_url=base_url, name="synchronisation")
        self._token = token
        self._plugin_token = plugin_token
        self._acting_header = acting_user_header

    def _as(self, acting_user: str | None) -> dict[str, Any]:
        if acting_user is None:
            return {"token": self._token}
        return {"token": self._plugin_token, "headers": {self._acting_header: acting_user}}

    async def methods(self, course_id: int, *, acting_user: str | None) -> Methods:
        params = {"course_id": course_id}
        return await self._json(
            Methods, "GET", "/sync/v1/methods", params=params, **self._as(acting_user)
        )

    async def add_method(self, course_id: int, code: str) -> None:
        body = {"course_id": course_id, "code": code, "course_created_empty": True}
        await self._request("POST", "/sync/v1/methods", json=body, **self._as(None))

    async def last_results(self, course_id: int, *, acting_user: str | None) -> CourseResults:
        path = f"/sync/v1/courses/{course_id}/results"
        return await self._json(CourseResults, "GET", path, **self._as(acting_user))

    async def sync_course(self, course_id: int, *, acting_user: str | None) -> Run:
        path = f"/sync/v1/courses/{course_id}:sync"
        answer = await self._request("POST", path, json={}, **self._as(acting_user))
        return Run.model_validate(answer.json()["run"])

    async def runs(self, *, limit: int = 50) -> Runs:
        params = {"limit": limit}
        return await self._json(Runs, "GET", "/sync/v1/runs", params=params, **self._as(None))

    async def run(self, run_id: int) -> Run:
        return await self._json(Run, "GET", f"/sync/v1/runs/{run_id}", **self._as(None))

    async def run_courses(self, run_id: int, *, limit: int = 1000, offset: int = 0) -> RunCourses:
        params = {"limit": limit, "offset": offset}
        path = f"/sync/v1/runs/{run_id}/courses"
        return await self._json(RunCourses, "GET", path, params=params, **self._as(None))
