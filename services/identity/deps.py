"""What routes depend on: the service's objects, one unit of work per request, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.auth import Principal, require_role
from services.identity.resources import IdentityServices

MAX_DB_INT = 2**31 - 1


def _services(request: Request) -> IdentityServices:
    services = request.state.identity
    assert isinstance(services, IdentityServices)
    return services


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _services(request).db.unit_of_work() as session:
        yield session


ServicesDep = Annotated[IdentityServices, Depends(_services)]
SessionDep = Annotated[AsyncSession, Depends(_session)]
# Persons, accounts and conflicts are personal data: administrators only (DESIGN §7).
Administrator = Annotated[Principal, Depends(require_role("admin"))]
# The orchestrator checks a backup's users before a restore.
Checker = Annotated[Principal, Depends(require_role("admin", "service"))]
PathId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
