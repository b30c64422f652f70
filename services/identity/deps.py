"""What routes depend on: the service's objects, one unit of work per request, the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from fusion.auth import Principal, require_role
from fusion.dependencies import SessionDep, UnitOfWorkDep, state_of
from services.identity.resources import IdentityServices

MAX_DB_INT = 2**31 - 1


ServicesDep = Annotated[IdentityServices, Depends(state_of(IdentityServices))]
# Persons, accounts and conflicts are personal data: administrators only (DESIGN §7).
Administrator = Annotated[Principal, Depends(require_role("admin"))]
# The orchestrator checks a backup's users before a restore.
Checker = Annotated[Principal, Depends(require_role("admin", "service"))]
PathId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]

__all__ = [
    "Administrator",
    "Checker",
    "PathId",
    "ServicesDep",
    "SessionDep",
    "UnitOfWorkDep",
]
