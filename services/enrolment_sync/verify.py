"""Reading Moodle's rosters to keep the sync off enrolments it did not make, and its ledger true.

Someone may unenrol by hand a student the service enrolled; the ledger would then claim an
enrolment Moodle no longer has, and the diff would never put it back. Reading each roster with
``userfields=id`` (a tenth of a full read, moodle.md §13) finds those rows; forgetting them lets
the next diff enrol the student again. Moodle does not say which method an enrolment comes from,
so a student still enrolled by another method (a meta link) is taken as present.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import MoodleError, MoodleRecordMissing
from services.enrolment_sync import ledger, metrics
from services.enrolment_sync.diff import Ledger, course_of, unpack
from services.enrolment_sync.wanted import MethodSpec

Pair = tuple[int, int]  # (course id, user id)


async def read_rosters(
    courses: Iterable[int], *, moodle: MoodleClient, concurrency: int
) -> dict[int, set[int]]:
    """The ids of the users Moodle enrols in each course: one id-only read per course.

    A course Moodle does not have (deleted since) is left out of the answer rather than
    failing the whole read: the callers leave such a course alone.
    """
    gate = asyncio.Semaphore(concurrency)

    async def roster(course: int) -> tuple[int, set[int] | None]:
        async with gate:
            try:
                users = await moodle.get_enrolled_users(course, userfields=("id",))
            except MoodleRecordMissing:
                return course, None
        return course, {int(user["id"]) for user in users}

    ordered = sorted(set(courses))
    answers = await asyncio.gather(*(roster(course) for course in ordered))
    metrics.count_call("core_enrol_get_enrolled_users", len(ordered))
    return {course: users for course, users in answers if users is not None}


_IDS_PER_LOOKUP = 100


async def missing_courses(
    courses: Collection[int], *, moodle: MoodleClient, concurrency: int
) -> dict[int, dict[str, str]]:
    """The courses of ``courses`` Moodle does not have, each with Moodle's own answer.

    One ``core_course_get_courses_by_field(ids)`` per hundred courses finds the present ones;
    each absent one is asked once more, so that the report quotes what Moodle answers for it
    (``Can't find data record in database table course.``). A run leaves such a course out
    and reports it, instead of failing every course's run.
    """
    ordered = sorted(set(courses))
    if not ordered:
        return {}
    found: set[int] = set()
    for start in range(0, len(ordered), _IDS_PER_LOOKUP):
        chunk = ordered[start : start + _IDS_PER_LOOKUP]
        answer = await moodle.get_courses_by_field("ids", ",".join(map(str, chunk)))
        found |= {int(course["id"]) for course in answer}
    gate = asyncio.Semaphore(concurrency)

    async def confirm(course: int) -> tuple[int, dict[str, str] | None]:
        async with gate:
            try:
                await moodle.get_enrolled_users(course, userfields=("id",), limitnumber=1)
            except MoodleError as error:
                if error.call_level:
                    raise
                return course, {"errorcode": error.errorcode, "message": error.message[:300]}
        return course, None  # present, only hidden from the lookup

    answers = await asyncio.gather(*(confirm(c) for c in ordered if c not in found))
    return {course: error for course, error in answers if error is not None}


async def verify_ledger(
    courses: Collection[int], *, session: AsyncSession, moodle: MoodleClient, concurrency: int
) -> int:
    """Forget the ledger rows Moodle no longer holds; returns how many were forgotten.

    Enrolments others made that Moodle no longer holds are forgotten too: if Apogée still has
    the student, the next diff enrols them, this time as the sync's own.
    """
    held = await ledger.load_enrolments(session, courses)
    by_course: dict[int, set[int]] = {}
    for key in held.active | held.suspended:
        course, user, _ = unpack(key)
        by_course.setdefault(course, set()).add(user)
    existing = await ledger.load_existing(session, courses)
    for course in {c for c, _ in existing}:
        by_course.setdefault(course, set())
    present = await read_rosters(by_course, moodle=moodle, concurrency=concurrency)
    # A course Moodle no longer has is left as it is: the plan reports it as missing.
    gone = [(c, u) for c, users in by_course.items() if c in present for u in users - present[c]]
    await ledger.forget_enrolments(session, gone)
    await ledger.forget_user_memberships(session, gone)
    await ledger.forget_existing(
        session, [(c, u) for c, u in existing if c in present and u not in present[c]]
    )
    return len(gone)


def created_empty(methods: Iterable[MethodSpec]) -> set[int]:
    """Courses Fusion created empty: every one of their methods says so.

    A course with no method of its own (fed only through a meta link) is not known to be empty.
    """
    said_empty: set[int] = set()
    not_known: set[int] = set()
    for method in methods:
        (said_empty if method.course_created_empty else not_known).add(method.course_id)
    return said_empty - not_known


@dataclass
class LeftAlone:
    adds: set[int]  # the adds the sync still makes
    found: set[Pair] = field(default_factory=set)  # enrolments others made, seen now


async def leave_existing_enrolments(
    adds: set[int],
    held: Ledger,
    *,
    known: Collection[Pair] = frozenset(),
    created_empty: Collection[int] = frozenset(),
    moodle: MoodleClient,
    concurrency: int,
) -> LeftAlone:
    """The adds, without students Moodle already enrols in a course the sync never wrote to.

    Those enrolments were made by someone else (a teacher, a restore, another plugin): the sync
    neither writes them nor takes them into its ledger, so it will never suspend them; the
    caller records them (``found``) so that later runs leave them alone without reading again.
    Costs one id-only roster read per course, on its first sync only, and none for a course
    Fusion created empty (nobody else could have enrolled anyone before the sync got to it).
    ``known`` are the enrolments of others already recorded: their courses are not new.
    """
    seen = {course_of(key) for key in held.active | held.suspended} | {c for c, _ in known}
    first_time = {course_of(key) for key in adds} - seen - set(created_empty)
    if not first_time:
        return LeftAlone(adds)
    present = await read_rosters(first_time, moodle=moodle, concurrency=concurrency)
    left = LeftAlone(adds=set())
    for key in adds:
        course, user, _ = unpack(key)
        if user in present.get(course, ()):
            left.found.add((course, user))
        else:
            left.adds.add(key)
    return left
