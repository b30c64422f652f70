"""Which courses the user a plugin acts for teaches: a teacher sees and syncs only those.

Admins and services see every course; a plugin (the Moodle block, the course-creation form)
acts for one user, named by the acting-user header. Who teaches is the kit's answer
(``fusion.moodle.teachers``: holding ``moodle/course:update``, kept a minute).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.auth import Principal
from fusion.moodle.client import MoodleClient
from fusion.moodle.teachers import TEACHING_CAPABILITY, TeacherDirectory
from services.enrolment_sync.errors import NotCourseTeacher, NotCreatedEmpty, OperatorDecision
from services.enrolment_sync.meta import Link, build_graph, descendants
from services.enrolment_sync.models import MetaLink, SyncRun


def _acting_user(principal: Principal) -> str:
    if principal.acting_user is None:
        raise NotCourseTeacher(
            "A plugin must name the user it acts for.",
            message_fr="Le plugin doit indiquer l'utilisateur pour lequel il agit.",
        )
    return principal.acting_user


def check_operator_decision(principal: Principal) -> None:
    """Forcing a run past the empty-source guard can remove every enrolment of a course: an
    operator's decision, never a teacher's button."""
    if principal.role == "plugin":
        raise OperatorDecision(
            "Only an operator may force a synchronisation past the empty-source guard.",
            message_fr="Seul un opérateur peut forcer une synchronisation malgré la garde "
            "contre une source vide.",
        )


async def check_created_empty_claim(
    principal: Principal, course: int, *, moodle: MoodleClient
) -> None:
    """Saying a course was "created empty" makes its first sync skip reading the enrolments
    others made, so the sync would take a hand-made enrolment for its own and could later
    remove it. Operators (the orchestrator's course-creation page, which creates the course
    itself) own that statement. A plugin's claim is checked against Moodle: a course Fusion
    created empty holds its teachers and nobody else until its first sync; a course holding
    anyone else was not, and the claim is refused (nothing is written).
    """
    if principal.role != "plugin":
        return
    everyone = await moodle.get_enrolled_users(course, userfields=("id",))
    teachers = await moodle.get_enrolled_users(
        course, userfields=("id",), withcapability=TEACHING_CAPABILITY
    )
    others = {int(u["id"]) for u in everyone} - {int(u["id"]) for u in teachers}
    if others:
        raise NotCreatedEmpty(
            f"Course {course} already holds {len(others)} enrolment(s) besides its teachers': "
            "it was not created empty by Fusion. Add the method without course_created_empty "
            "(the synchronisation then leaves those enrolments alone).",
            message_fr=f"Le cours {course} compte déjà {len(others)} inscription(s) en plus de "
            "ses enseignants : il n'a pas été créé vide par Fusion. Ajoutez la méthode sans "
            "course_created_empty (la synchronisation laissera alors ces inscriptions en place).",
            details={"course_id": course, "other_enrolments": len(others)},
        )


async def check_teaches(principal: Principal, course: int, *, teachers: TeacherDirectory) -> None:
    """Operators act on any course; a plugin acts for a user who must teach this one."""
    if principal.role != "plugin":
        return
    if not await teachers.teaches(_acting_user(principal), course):
        raise NotCourseTeacher(
            f"Only a teacher of course {course} may synchronise it or see its results.",
            message_fr=f"Seul un enseignant du cours {course} peut le synchroniser ou en voir "
            "les résultats.",
        )


async def check_run_visible(
    run: SyncRun, principal: Principal, *, teachers: TeacherDirectory
) -> None:
    """A teacher sees the runs of one of their courses; a run of every course is not one."""
    if principal.role != "plugin":
        return
    if run.kind != "course" or run.course_id is None:
        _acting_user(principal)
        raise NotCourseTeacher(
            f"Run {run.id} covers every course: a teacher sees only the results of their own "
            f"courses, at /sync/v1/runs/{run.id}/courses.",
            message_fr=f"La synchronisation n°{run.id} porte sur tous les cours : un enseignant "
            f"ne voit que les résultats de ses cours, sur /sync/v1/runs/{run.id}/courses.",
        )
    await check_teaches(principal, run.course_id, teachers=teachers)


async def visible_courses(
    principal: Principal,
    courses: Callable[[], Awaitable[Collection[int]]],
    *,
    teachers: TeacherDirectory,
) -> set[int] | None:
    """The courses among ``await courses()`` the caller may see; None: every course (operators,
    for whom the candidates are never read)."""
    if principal.role != "plugin":
        return None
    return await teachers.taught_among(_acting_user(principal), await courses())


async def teacher_scope(
    session: AsyncSession, principal: Principal, course: int, *, teachers: TeacherDirectory
) -> list[int] | None:
    """The courses a course run may change: for a teacher (a plugin acting for them), the
    course and those of its meta children they teach too; a child taught by someone else is
    left to the scheduled runs and to operators, whose course runs reach every child (None).

    Enrolments flow from a parent into its children, so a teacher's run would otherwise
    rewrite a colleague's course, which its own teacher never asked for.
    """
    if principal.role != "plugin":
        return None
    links = (await session.execute(select(MetaLink))).scalars().all()
    graph = build_graph(Link(r.parent_course_id, r.child_course_id, r.in_moodle) for r in links)
    reached = descendants(graph, {course})
    if reached == {course}:
        return [course]
    taught = await teachers.taught_among(_acting_user(principal), reached - {course})
    return sorted({course} | taught)
