"""What routes depend on: the service's state, one unit of work per request, who calls, and
the lookups that can fail (so that routes never repeat not-found or permission checks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from fusion.auth import Principal, require_role
from fusion.dependencies import SessionDep, UnitOfWorkDep, settings_of, state_of
from services.enrolment_sync.methods import get_meta_link, get_method
from services.enrolment_sync.models import EnrolmentMethod, MetaLink, SyncRun
from services.enrolment_sync.runs import get_run
from services.enrolment_sync.schemas import MAX_DB_INT
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.state import SyncState
from services.enrolment_sync.teachers import check_run_visible, check_teaches

__all__ = [
    "AnyCaller",
    "CourseActor",
    "Operator",
    "PathId",
    "SessionDep",
    "SettingsDep",
    "StateDep",
    "UnitOfWorkDep",
    "ValidMetaLink",
    "ValidMethod",
    "ValidRun",
    "VisibleRun",
]

StateDep = Annotated[SyncState, Depends(state_of(SyncState))]
SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
Operator = Annotated[Principal, Depends(require_role("admin", "service"))]
# The course-creation form and the teachers' "sync my course" button come through a plugin.
AnyCaller = Annotated[Principal, Depends(require_role("admin", "service", "plugin"))]

# A path id: positive and within the 32-bit columns that store it.
PathId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]


async def _course_actor(course_id: PathId, state: StateDep, principal: AnyCaller) -> Principal:
    """Operators act on any course; a plugin acts for a user who must teach this course."""
    await check_teaches(principal, course_id, teachers=state.teachers)
    return principal


async def _valid_run(run_id: PathId, session: SessionDep) -> SyncRun:
    return await get_run(session, run_id)


async def _visible_run(
    run: Annotated[SyncRun, Depends(_valid_run)], state: StateDep, principal: AnyCaller
) -> SyncRun:
    await check_run_visible(run, principal, teachers=state.teachers)
    return run


async def _valid_method(
    method_id: PathId, session: SessionDep, state: StateDep, principal: AnyCaller
) -> EnrolmentMethod:
    """A method, seen by an operator or a teacher of its course."""
    method = await get_method(session, method_id)
    await check_teaches(principal, method.course_id, teachers=state.teachers)
    return method


async def _valid_meta_link(link_id: PathId, session: SessionDep) -> MetaLink:
    return await get_meta_link(session, link_id)


CourseActor = Annotated[Principal, Depends(_course_actor)]
ValidRun = Annotated[SyncRun, Depends(_valid_run)]
VisibleRun = Annotated[SyncRun, Depends(_visible_run)]
ValidMethod = Annotated[EnrolmentMethod, Depends(_valid_method)]
ValidMetaLink = Annotated[MetaLink, Depends(_valid_meta_link)]
