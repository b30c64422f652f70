"""Who may migrate a course, decided once when it is requested and kept with its evidence.

Later steps run under the service's own Moodle account, so a manager who removes their own
teacher role during the migration does not break it (it did at Bordeaux). The person is matched
to their account on the source platform by username: the university's CAS login is the same on
every platform (identity's person links will refine this for renamed accounts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fusion.auth import Principal
from fusion.errors import BadRequest, Forbidden
from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import MoodleRecordMissing
from services.migration_orchestrator.migrations.models import utcnow

TEACHING_CAPABILITY = "moodle/course:update"
TEACHER_ROLES = frozenset({"editingteacher", "teacher"})
MANAGER_ROLES = frozenset({"manager", "coursecreator"})


class NotCourseTeacher(Forbidden):
    code = "not_course_teacher"


class ActingUserRequired(Forbidden):
    code = "acting_user_required"


class SourceCourseNotFound(BadRequest):
    code = "source_course_not_found"


@dataclass(frozen=True)
class Decision:
    requested_by: str
    authorised_as: str  # teacher | manager | admin | service
    evidence: dict[str, Any]
    course_teachers: list[str] = field(default_factory=list)


async def course_teachers(moodle: MoodleClient, course_id: int) -> list[dict[str, Any]]:
    try:
        return await moodle.get_enrolled_users(
            course_id, userfields=("id", "username", "roles"), withcapability=TEACHING_CAPABILITY
        )
    except MoodleRecordMissing as error:  # the client named a course the platform lacks
        raise SourceCourseNotFound(
            f"Course {course_id} does not exist on its platform.",
            message_fr=f"Le cours {course_id} n'existe pas sur sa plateforme.",
        ) from error


def _roles(record: dict[str, Any]) -> set[str]:
    return {str(role.get("shortname")) for role in record.get("roles") or ()}


async def decide(
    principal: Principal, *, platform: str, course_id: int, moodle: MoodleClient
) -> Decision:
    """Operators may migrate any course; a plugin's user must teach (or manage) this one."""
    teachers = await course_teachers(moodle, course_id)
    usernames = sorted({str(t.get("username")) for t in teachers if t.get("username")})
    if principal.role in ("admin", "service"):
        operator: dict[str, Any] = {"role": principal.role, "client": principal.client}
        return Decision(principal.client, principal.role, operator, usernames)
    user = principal.acting_user
    if not user:
        raise ActingUserRequired(
            "A plugin must name the user it acts for.",
            message_fr="Le plugin doit indiquer l'utilisateur pour lequel il agit.",
        )
    record = next((t for t in teachers if t.get("username") == user), None)
    roles = _roles(record) if record is not None else set()
    if record is None or not roles & (TEACHER_ROLES | MANAGER_ROLES):
        raise NotCourseTeacher(
            "You do not teach this course on its platform, so you cannot migrate it.",
            message_fr="Vous n'enseignez pas dans ce cours sur sa plateforme : vous ne pouvez "
            "pas le migrer.",
        )
    evidence: dict[str, Any] = {
        "platform": platform,
        "course_id": course_id,
        "moodle_user_id": record.get("id"),
        "roles": sorted(roles),
        "capability": TEACHING_CAPABILITY,
        "checked_at": utcnow().isoformat(),
        "client": principal.client,
    }
    kind = "teacher" if roles & TEACHER_ROLES else "manager"
    return Decision(user, kind, evidence, usernames)
