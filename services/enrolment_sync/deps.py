"""What routes depend on: the service's long-lived objects and one unit of work per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.auth import Principal, require_role
from fusion.errors import Forbidden
from services.enrolment_sync.resources import SyncServices


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


class NotCourseTeacher(Forbidden):
    code = "not_course_teacher"


async def _course_actor(course_id: int, request: Request, principal: AnyCaller) -> Principal:
    """Operators act on any course; a plugin acts for a user who must teach this course."""
    if principal.role != "plugin":
        return principal
    teachers = await _services(request).moodle.get_enrolled_users(
        course_id, userfields=("id", "username"), withcapability="moodle/course:update"
    )
    if principal.acting_user is None or principal.acting_user not in {
        str(t.get("username")) for t in teachers
    }:
        raise NotCourseTeacher(
            f"Only a teacher of course {course_id} may synchronise it.",
            message_fr=f"Seul un enseignant du cours {course_id} peut le synchroniser.",
        )
    return principal


CourseActor = Annotated[Principal, Depends(_course_actor)]
