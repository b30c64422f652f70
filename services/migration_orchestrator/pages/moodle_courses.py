"""A teacher's courses on a Moodle platform, and a new empty course space on the merged one.

Teaching is the kit's rule (``fusion.moodle.teachers``), the one enrolment_sync applies to its API.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fusion.errors import Conflict, NotFound
from fusion.moodle.client import MoodleClient
from fusion.moodle.rows import ManualEnrolment, NewCourse
from fusion.moodle.teachers import teaches, user_id

EDITING_TEACHER_ROLE = 3  # Moodle's default editingteacher role id


@dataclass(frozen=True)
class TaughtCourse:
    id: int
    shortname: str
    fullname: str


async def taught_courses(moodle: MoodleClient, username: str) -> list[TaughtCourse]:
    userid = await user_id(moodle, username)
    if userid is None:
        return []
    enrolled = await moodle.get_users_courses(userid)
    checks = await asyncio.gather(*(teaches(moodle, username, int(c["id"])) for c in enrolled))
    return [
        TaughtCourse(id=int(c["id"]), shortname=str(c["shortname"]), fullname=str(c["fullname"]))
        for c, taught in zip(enrolled, checks, strict=True)
        if taught
    ]


class ShortnameTaken(Conflict):
    code = "shortname_taken"


class NoAccountOnTarget(NotFound):
    code = "no_account_on_target"


async def create_empty_course(
    moodle: MoodleClient, *, username: str, fullname: str, shortname: str, category: int
) -> int:
    """The course, with the teacher enrolled as its editing teacher; its id."""
    if await moodle.get_courses_by_field("shortname", shortname):
        raise ShortnameTaken(
            f"A course with the short name '{shortname}' already exists on the merged platform.",
            message_fr=f"Un cours de nom abrégé « {shortname} » existe déjà sur la plateforme "
            "fusionnée : choisissez-en un autre.",
        )
    teacher = await user_id(moodle, username)
    if teacher is None:
        raise NoAccountOnTarget(
            "You have no account on the merged platform yet: sign in to it once, then retry.",
            message_fr="Vous n'avez pas encore de compte sur la plateforme fusionnée : "
            "connectez-vous-y une fois, puis recommencez.",
        )
    created = await moodle.create_courses(
        [NewCourse(fullname=fullname, shortname=shortname, categoryid=category)]
    )
    if created.failed:
        raise created.failed[0][1]
    course_id = int(created.returned[0]["id"])
    enrolled = await moodle.enrol_users(
        [ManualEnrolment(roleid=EDITING_TEACHER_ROLE, userid=teacher, courseid=course_id)]
    )
    if enrolled.failed:
        raise enrolled.failed[0][1]
    return course_id
