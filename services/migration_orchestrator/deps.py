from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Path

from fusion.auth import Principal, require_role
from fusion.dependencies import SessionDep, UnitOfWorkDep, state_of
from services.migration_orchestrator.services import Orchestrator
from services.migration_orchestrator.state import OrchestratorState

StateDep = Annotated[OrchestratorState, Depends(state_of(OrchestratorState))]


def _orchestrator(state: StateDep) -> Orchestrator:
    return state.orchestrator


def _moodle_http(state: StateDep) -> httpx.AsyncClient:
    return state.orchestrator.moodle_http


MoodleHttpDep = Annotated[httpx.AsyncClient, Depends(_moodle_http)]
OrchestratorDep = Annotated[Orchestrator, Depends(_orchestrator)]
StaffDep = Annotated[Principal, Depends(require_role("admin", "service"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
AnyCaller = Annotated[Principal, Depends(require_role("admin", "service", "plugin"))]
# Platform workers authenticate with a service token.
WorkerDep = Annotated[Principal, Depends(require_role("service"))]
MigrationId = Annotated[int, Path(ge=1, le=2**31 - 1)]

__all__ = [
    "AdminDep",
    "AnyCaller",
    "MigrationId",
    "MoodleHttpDep",
    "OrchestratorDep",
    "SessionDep",
    "StaffDep",
    "StateDep",
    "UnitOfWorkDep",
    "WorkerDep",
]
