from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends

from fusion.auth import Principal, require_role
from fusion.dependencies import state_of
from services.migration_orchestrator.state import OrchestratorState

StateDep = Annotated[OrchestratorState, Depends(state_of(OrchestratorState))]


def _moodle_http(state: StateDep) -> httpx.AsyncClient:
    return state.moodle_http


MoodleHttpDep = Annotated[httpx.AsyncClient, Depends(_moodle_http)]
StaffDep = Annotated[Principal, Depends(require_role("admin", "service"))]
