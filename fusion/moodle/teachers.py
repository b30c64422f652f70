"""Who teaches a course, as Moodle itself decides who may edit it: holding
``moodle/course:update`` in the course. The sync's teacher checks, the orchestrator's migration
rights and its pages' "my courses" all ask this one question.

``TeacherDirectory`` keeps answers a minute, so that a teacher's page polling a run does not
read Moodle at every poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import MoodleRecordMissing

__all__ = [
    "TEACHING_CAPABILITY",
    "TeacherDirectory",
    "course_teachers",
    "courses_of",
    "teaches",
    "user_id",
]

TEACHING_CAPABILITY = "moodle/course:update"
# Up to this many courses, asking each course is cheaper than finding the user's courses.
_ASK_EACH_UP_TO = 3
_MAX_CACHED = 10_000


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


async def courses_of(moodle: MoodleClient, username: str) -> set[int]:
    """The ids of the courses the account is enrolled in (without their user counts)."""
    userid = await user_id(moodle, username)
    if userid is None:
        return set()
    answer = await moodle.call(
        "core_enrol_get_users_courses", {"userid": userid, "returnusercount": False}
    )
    return {int(course["id"]) for course in answer or ()}


class TeacherDirectory:
    def __init__(
        self,
        *,
        moodle: MoodleClient,
        ttl_seconds: float = 60.0,
        concurrency: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._moodle = moodle
        self._ttl = ttl_seconds
        self._gate = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._known: dict[tuple[str, int], tuple[float, bool]] = {}

    async def teaches(self, username: str, course: int) -> bool:
        now = self._clock()
        cached = self._known.get((username, course))
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._gate:
            try:
                teachers = await course_teachers(self._moodle, course)
            except MoodleRecordMissing:  # no such course: nobody teaches it (403, not a 502)
                teachers = []
        answer = username in {str(t.get("username")) for t in teachers}
        if len(self._known) >= _MAX_CACHED:
            self._known.clear()
        self._known[(username, course)] = (now + self._ttl, answer)
        return answer

    async def taught_among(self, username: str, courses: Collection[int]) -> set[int]:
        """The courses of ``courses`` that ``username`` teaches."""
        wanted = set(courses)
        if len(wanted) > _ASK_EACH_UP_TO:
            # Only the courses the user is enrolled in can be taught by them: two reads narrow
            # thousands of courses (a full run's) down to a handful.
            wanted &= await courses_of(self._moodle, username)
        ordered = sorted(wanted)
        answers = await asyncio.gather(*(self.teaches(username, c) for c in ordered))
        return {course for course, yes in zip(ordered, answers, strict=True) if yes}
