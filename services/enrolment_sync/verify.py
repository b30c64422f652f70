"""The periodic check of the ledger against Moodle.

Someone may unenrol by hand a student the service enrolled; the ledger would then claim an
enrolment Moodle no longer has, and the diff would never put it back. Reading each roster with
``userfields=id`` (a tenth of a full read, moodle.md §13) finds those rows; forgetting them lets
the next diff enrol the student again. Moodle does not say which method an enrolment comes from,
so a student still enrolled by another method (a meta link) is taken as present.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.moodle.client import MoodleClient
from services.enrolment_sync import ledger, metrics
from services.enrolment_sync.diff import Ledger, course_of, unpack


async def verify_ledger(
    courses: Collection[int], *, session: AsyncSession, moodle: MoodleClient, concurrency: int
) -> int:
    """Forget the ledger rows Moodle no longer holds; returns how many were forgotten."""
    held = await ledger.load_enrolments(session, courses)
    by_course: dict[int, set[int]] = {}
    for key in held.active | held.suspended:
        course, user, _ = unpack(key)
        by_course.setdefault(course, set()).add(user)
    gate = asyncio.Semaphore(concurrency)

    async def missing_in(course: int) -> list[tuple[int, int]]:
        async with gate:
            enrolled = await moodle.get_enrolled_users(course, userfields=("id",))
        present = {int(user["id"]) for user in enrolled}
        return [(course, user) for user in by_course[course] - present]

    found = await asyncio.gather(*(missing_in(course) for course in sorted(by_course)))
    metrics.count_call("core_enrol_get_enrolled_users", len(by_course))
    gone = [pair for pairs in found for pair in pairs]
    await ledger.forget_enrolments(session, gone)
    await ledger.forget_user_memberships(session, gone)
    return len(gone)


async def leave_existing_enrolments(
    adds: set[int], held: Ledger, *, moodle: MoodleClient, concurrency: int
) -> set[int]:
    """The adds, without students Moodle already enrolls in a course the sync never wrote to.

    Those enrolments were made by someone else (a teacher, a restore, another plugin): the sync
    neither writes them again nor takes them into its ledger, so it will never suspend them.
    Costs one id-only roster read per course, on its first sync only.
    """
    known = {course_of(key) for key in held.active | held.suspended}
    first_time = {course_of(key) for key in adds} - known
    gate = asyncio.Semaphore(concurrency)

    async def roster(course: int) -> tuple[int, set[int]]:
        async with gate:
            users = await moodle.get_enrolled_users(course, userfields=("id",))
        return course, {int(user["id"]) for user in users}

    present = dict(await asyncio.gather(*(roster(course) for course in sorted(first_time))))
    metrics.count_call("core_enrol_get_enrolled_users", len(first_time))
    return {key for key in adds if unpack(key)[1] not in present.get(course_of(key), ())}
