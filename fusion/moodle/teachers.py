"""Who teaches a course, as Moodle itself decides who may edit it: holding
``moodle/course:update`` in the course. The sync's teacher checks, the orchestrator's migration
rights and its pages' "my courses" all ask this one question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fusion.moodle.client import MoodleClient

__all__ = ["TEACHING_CAPABILITY", "course_teachers", "teaches", "user_id"]

TEACHING_CAPABILITY = "moodle/course:update"


async def course_teachers(
    moodle: MoodleClient, course_id: int, *, fields: Sequence[str] = ("id", "username")
) -> list[dict[str, Any]]:
    return await moodle.get_enrolled_users(
        course_id, userfields=fields, withcapability=TEACHING_CAPABILITY
    )


async def teaches(moodle: MoodleClient, username: str, course_id: int) -> bool:
    teachers = await course_teachers(moodle, course_id)
    return username in {str(teacher.get("username")) for teacher in teachers}


async def user_id(moodle: MoodleClient, username: str) -> int | None:
    """The platform's id of the account whose username (the CAS login) is ``username``."""
    users = await moodle.get_users_by_field("username", [username])
    return int(users[0]["id"]) if users else None
