"""What routes depend on: the service's long-lived objects and one unit of work per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.auth import Principal, require_role
from services.enrolment_sync.resources import SyncServices
from services.enrolment_sync.schemas import MAX_DB_INT
from services.enrolment_sync.teachers import check_teaches


def _services(request: Request) -> SyncServices:
    services = request.state.sync
    assert isinstance(services, SyncServices)
    return services


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _services(request).db.unit_of_work() as session:
        yield session


ServicesDep = Annotated[SyncServices, Depends(_services)]
SessionDep = Annotated[AsyncSession, Depends(_session)]
Operator = Annotated[Principal, Depends(require_role("admin", "service"))]
# The course-creation form and the teachers' "sync my course" button come through a plugin.
AnyCaller = Annotated[Principal, Depends(require_role("admin", "service", "plugin"))]


# A path id: positive and within the 32-bit columns that store it.
PathId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]


async def _course_actor(course_id: PathId, request: Request, principal: AnyCaller) -> Principal:
    """Operators act on any course; a plugin acts for a user who must teach this course."""
    await check_teaches(principal, course_id, teachers=_services(request).teachers)
    return principal


CourseActor = Annotated[Principal, Depends(_course_actor)]
