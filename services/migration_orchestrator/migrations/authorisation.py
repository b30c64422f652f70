"""Who may migrate a course, decided once when it is requested and kept with its evidence.

Later steps run under the service's own Moodle account, so a manager who removes their own
teacher role during the migration does not break it (it did at Bordeaux). The person is matched
to their account on the source platform through identity (the accounts linked to the person
whose directory uid is the login, by an exact key or an administrator's confirmation), so a
teacher renamed on an old platform is still recognised and a username that another person holds
there is not taken for theirs (identity says when it belongs to someone else). When identity
cannot say (the person is not in its directory, it
links no account on that platform, or it does not answer), the login is taken as the username
on the platform, as the CAS login usually is, and the evidence says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fusion.auth import Principal
from fusion.errors import BadRequest, Forbidden, FusionError
from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import MoodleRecordMissing
from fusion.moodle.teachers import TEACHING_CAPABILITY, course_teachers
from services.migration_orchestrator.clients.identity import IdentityClient
from services.migration_orchestrator.migrations.models import utcnow

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


@dataclass(frozen=True)
class AccountMatch:
    """Which of the course's enrolled accounts are the requester's, and how that was known."""

    usernames: frozenset[str]
    moodle_ids: frozenset[int]
    evidence: dict[str, Any]

    def fits(self, record: dict[str, Any]) -> bool:
        moodle_id = record.get("id")
        if self.moodle_ids:
            return isinstance(moodle_id, int) and moodle_id in self.moodle_ids
        return record.get("username") in self.usernames


async def match_account(identity: IdentityClient | None, user: str, platform: str) -> AccountMatch:
    """The requester's account(s) on ``platform``: identity's links, else their login."""

    def by_username(why: str) -> AccountMatch:
        evidence = {"matched_by": "username", "identity_fallback": why}
        return AccountMatch(frozenset({user}), frozenset(), evidence)

    if identity is None:
        return by_username("no identity service configured")
    try:
        found = await identity.accounts_of(user, platform=platform)
    except FusionError as error:
        return by_username(f"identity did not answer: {error.message}"[:300])
    if found is None:
        return by_username("the person is not in identity's directory")
    if not found.accounts and found.username_held_by_another_person:
        refused = {
            "matched_by": "none",
            "identity_refused": f"the account '{user}' on {platform} is another person's",
        }
        return AccountMatch(frozenset(), frozenset(), refused)
    if not found.accounts:
        return by_username(f"identity links no account of the person on {platform}")
    accounts = [a.model_dump() for a in found.accounts]
    return AccountMatch(
        frozenset(a.username for a in found.accounts),
        frozenset(a.moodle_id for a in found.accounts),
        {"matched_by": "identity", "identity_accounts": accounts},
    )


def _roles(record: dict[str, Any]) -> set[str]:
    return {str(role.get("shortname")) for role in record.get("roles") or ()}


async def decide(
    principal: Principal,
    *,
    platform: str,
    course_id: int,
    moodle: MoodleClient,
    identity: IdentityClient | None = None,
) -> Decision:
    """Operators may migrate any course; a plugin's user must teach (or manage) this one."""
    try:
        teachers = await course_teachers(moodle, course_id, fields=("id", "username", "roles"))
    except MoodleRecordMissing as error:  # the client named a course the platform lacks
        raise SourceCourseNotFound(
            f"Course {course_id} does not exist on its platform.",
            message_fr=f"Le cours {course_id} n'existe pas sur sa plateforme.",
        ) from error
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
    match = await match_account(identity, user, platform)
    record = next((t for t in teachers if match.fits(t)), None)
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
        "moodle_username": record.get("username"),
        **match.evidence,
        "roles": sorted(roles),
        "capability": TEACHING_CAPABILITY,
        "checked_at": utcnow().isoformat(),
        "client": principal.client,
    }
    kind = "teacher" if roles & TEACHER_ROLES else "manager"
    return Decision(user, kind, evidence, usernames)
