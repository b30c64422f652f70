from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.auth import Principal, require_role
from services.migration_orchestrator.services import Orchestrator


def _moodle_http(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.state.moodle_http
    return client


def _orchestrator(request: Request) -> Orchestrator:
    orchestrator = request.state.orchestrator
    assert isinstance(orchestrator, Orchestrator)
    return orchestrator


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _orchestrator(request).db.unit_of_work() as session:
        yield session


MoodleHttpDep = Annotated[httpx.AsyncClient, Depends(_moodle_http)]
OrchestratorDep = Annotated[Orchestrator, Depends(_orchestrator)]
SessionDep = Annotated[AsyncSession, Depends(_session)]
StaffDep = Annotated[Principal, Depends(require_role("admin", "service"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
AnyCaller = Annotated[Principal, Depends(require_role("admin", "service", "plugin"))]
# Platform workers authenticate with a service token.
WorkerDep = Annotated[Principal, Depends(require_role("service"))]
MigrationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
