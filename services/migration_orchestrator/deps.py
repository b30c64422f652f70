from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from fusion.auth import Principal, require_role


def _moodle_http(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.state.moodle_http
    return client


MoodleHttpDep = Annotated[httpx.AsyncClient, Depends(_moodle_http)]
StaffDep = Annotated[Principal, Depends(require_role("admin", "service"))]
