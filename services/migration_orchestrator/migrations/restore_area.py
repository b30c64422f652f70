"""Where a migration's restore lands first: a category of its own on the target.

Moodle's ``restore_backup.php`` takes only ``--file`` and ``--categoryid``, creates a *new*
course every time (a hidden placeholder first, named in the site's language), and cannot be
told to mark it. A restore interrupted anywhere (the worker killed mid-CLI, or after the CLI
and before it reported the course id) would therefore leave a course nobody can tell apart
from the others of the target category, and the redelivered restore would make a second one.

So each migration restores into its own category, idnumber ``fusion-restore-<id>``, under
the target category: everything in it belongs to that migration and to no one else.

- before each attempt, whatever an earlier attempt left there (a placeholder, a half-restored
  or even a finished course whose id was never reported) is deleted: the attempt that runs
  now makes the one course;
- when the worker reports the restored course, it is moved into the target category, anything
  else still in the area (an orphaned CLI of a dead worker) is deleted, and the area with it;
- when the restore fails, the placeholder Moodle leaves behind is deleted and named in the
  migration's log, and the area with it.

Only web-service functions of core Moodle, through the kit's client: ``create_categories``
(an idnumber already taken is refused with ``categoryidnumbertaken``), ``get_categories``
(idnumber; its ``coursecount`` tells the report whether to list the area),
``get_courses_by_field`` (field ``category``),
``update_courses`` (``categoryid``), ``delete_courses`` (a course it will not delete is a
warning, named in the log) and ``delete_categories`` (recursive); the target's token needs
``moodle/category:manage``, ``moodle/course:delete`` and ``moodle/course:changecategory``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from fusion.moodle import CategoryDeletion, CourseUpdate, MoodleClient, MoodleError, NewCategory
from fusion.moodle.errors import MoodleDuplicate, MoodleUnavailable
from services.migration_orchestrator.migrations import restores
from services.migration_orchestrator.migrations.lifecycle import StateMoved, one_move, transition
from services.migration_orchestrator.migrations.logs import add_log
from services.migration_orchestrator.migrations.models import Migration
from services.migration_orchestrator.migrations.states import State, Step
from services.migration_orchestrator.services import Orchestrator

log = logging.getLogger(__name__)


def area_idnumber(migration_id: int) -> str:
    return f"fusion-restore-{migration_id}"


@dataclass
class Cleanup:
    """What a clean-up removed (course ids), and what it could not do."""

    removed: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Area:
    """A migration's restore area on the target, with Moodle's count of its courses (the
    category's ``coursecount``, which the restore's ``create_new_course`` increments)."""

    id: int
    courses: int


async def find_area(target: MoodleClient, migration_id: int) -> Area | None:
    idnumber = area_idnumber(migration_id)
    found = await target.get_categories({"idnumber": idnumber}, addsubcategories=False)
    areas = [
        Area(id=int(c["id"]), courses=int(c.get("coursecount") or 0))
        for c in found
        if c.get("idnumber") == idnumber
    ]
    return areas[0] if areas else None


async def ready_area(target: MoodleClient, migration: Migration) -> tuple[int, Cleanup]:
    """The migration's area, empty: a new one (empty as created: no restore can have been
    told its id), or, when Moodle answers that its idnumber is taken, an earlier attempt's,
    emptied of what it left. A first attempt, the usual case, is one call."""
    assert migration.id is not None
    row = NewCategory(
        name=f"Fusion : restauration en cours, migration {migration.id} "
        f"(restore in progress, migration {migration.id})",
        parent=migration.target_category_id,
        idnumber=area_idnumber(migration.id),
        description="Restore area of a Fusion migration; deleted once the course is moved.",
    )
    created = await target.create_categories([row])
    if not created.failed:
        return int(created.returned[0]["id"]), Cleanup()
    refused = created.failed[0][1]
    if not isinstance(refused, MoodleDuplicate):
        raise refused
    existing = await find_area(target, migration.id)
    if existing is None:  # deleted since: the idnumber is free again, another attempt will do
        raise refused
    return existing.id, await empty_area(target, existing.id)


async def courses_in(target: MoodleClient, category_id: int) -> list[dict[str, Any]]:
    return [
        course
        for course in await target.get_courses_by_field("category", category_id)
        if int(course.get("categoryid", category_id)) == category_id
    ]


async def empty_area(target: MoodleClient, category_id: int, *, keep: int | None = None) -> Cleanup:
    cleanup = Cleanup()
    leftovers = [int(c["id"]) for c in await courses_in(target, category_id) if c["id"] != keep]
    if leftovers:
        deletions = await target.delete_courses(leftovers)
        cleanup.removed = deletions.deleted
        cleanup.problems += [
            f"course {c} could not be deleted ({error.errorcode}: {error.message})"
            for c, error in deletions.refused.items()
        ]
    return cleanup


async def close_area(target: MoodleClient, category_id: int) -> None:
    # recursive: a course an orphaned CLI created since the listing goes with the area
    deleted = await target.delete_categories([CategoryDeletion(id=category_id, recursive=True)])
    if deleted.failed:
        raise deleted.failed[0][1]


async def _log(orchestrator: Orchestrator, migration_id: int, lines: list[tuple[str, str]]) -> None:
    if not lines:
        return
    async with orchestrator.db.unit_of_work() as session:
        for level, message in lines:
            await add_log(session, migration_id, Step.RESTORE, message, level=level)


async def start(
    orchestrator: Orchestrator, migration_id: int, *, worker: str, message: str | None = None
) -> restores.RestoreTicket:
    """A restore attempt begins: recorded, its area ready and empty, the worker told where.
    ``message``: the id of the ``restore.run`` message it started from (an older one is refused)."""
    ticket, migration = await restores.start_restore(
        orchestrator.db,
        migration_id,
        worker=worker,
        message=message,
        lease_seconds=restores.restore_lease_seconds(orchestrator.settings),
    )
    target = orchestrator.target
    try:
        area, cleanup = await ready_area(target, migration)
    except MoodleUnavailable:
        raise  # 503: the worker asks again
    except MoodleError as error:  # the target refuses (a capability, a parameter): say it
        reason, reason_fr = _refusal(error, migration.target_category_id)
        await _refused(orchestrator, migration_id, ticket.attempt, error, reason, reason_fr)
        raise restores.NotRestoring(reason, message_fr=reason_fr) from error
    await _log(
        orchestrator,
        migration_id,
        [
            ("warning", f"deleted course {c}, left on the target by an interrupted restore")
            for c in cleanup.removed
        ]
        + [("warning", problem) for problem in cleanup.problems],
    )
    return replace(ticket, category_id=area)


def _refusal(error: MoodleError, category_id: int) -> tuple[str, str]:
    """Why the target refused the restore area, in English and French, in words its reader
    (the teacher who asked, the support) can act on."""
    if error.errorcode == "unknowcategory":  # core_course_create_categories: no such parent
        return (
            f"The target category {category_id} does not exist on the target platform. An "
            "administrator can create it, then retry the migration; otherwise, cancel the "
            "migration and request it again into an existing category.",
            f"La catégorie cible n° {category_id} n'existe pas sur la plateforme cible. Un "
            "administrateur peut la créer, puis relancer la migration ; sinon, annulez la "
            "migration et redemandez-la vers une catégorie existante.",
        )
    return (
        f"The target refused to prepare the restore: {error.message}",
        f"La plateforme cible a refusé de préparer la restauration : {error.message_fr}",
    )


async def _refused(
    orchestrator: Orchestrator,
    migration_id: int,
    attempt: str,
    error: MoodleError,
    reason: str,
    reason_fr: str,
) -> None:
    async with orchestrator.db.unit_of_work() as session:
        migration = await restores.restoring(session, migration_id, attempt=attempt)
        await add_log(
            session,
            migration_id,
            Step.RESTORE,
            error.message,
            level="error",
            message_fr=error.message_fr,
            details={"wsfunction": error.wsfunction, "errorcode": error.errorcode},
        )
        await transition(
            session,
            migration,
            State.FAILED,
            cause="target refused the restore area",
            reason=reason,
            reason_fr=reason_fr,
        )


async def done(
    orchestrator: Orchestrator, migration_id: int, *, course_id: int, attempt: str | None
) -> Migration:
    """The course is restored: into the target category, the area emptied and deleted, then
    post-restore. Safe to repeat (a crash between the moves and the commit)."""
    async with orchestrator.db.read() as session:
        migration = await restores.restoring(session, migration_id, attempt=attempt, lock=False)
    target, lines = orchestrator.target, []
    try:
        area = await find_area(target, migration_id)
        moved = await target.update_courses(
            [CourseUpdate(id=course_id, categoryid=migration.target_category_id)]
        )
        if moved.failed:
            raise moved.failed[0][1]
        if area is not None:
            # Usually the area holds the restored course alone: it is not listed. A count
            # above one is another restore of this migration, whose course is named in the
            # log; one the count missed goes with the area all the same (recursive).
            if area.courses > 1:
                cleanup = await empty_area(target, area.id, keep=course_id)
                lines += [
                    ("warning", f"deleted course {c}, a second restore of this migration")
                    for c in cleanup.removed
                ]
            await close_area(target, area.id)
    except MoodleUnavailable:
        raise
    except MoodleError as error:  # the course is there: post-restore goes on, support sees why
        lines.append(("error", f"course {course_id} left in its restore area: {error.message}"))
    try:
        async with one_move(orchestrator.db, len(lines) + 1) as session:
            await restores.restore_done(session, migration, course_id=course_id, lines=lines)
    except StateMoved:  # reported, cancelled or restarted meanwhile: say which
        async with orchestrator.db.read() as session:
            await restores.restoring(session, migration_id, attempt=attempt, lock=False)
        raise
    return migration


async def failed(
    orchestrator: Orchestrator,
    migration_id: int,
    *,
    attempt: str | None,
    message: str,
    message_fr: str,
    details: dict[str, Any] | None,
) -> Migration:
    """The restore failed: the placeholder course Moodle leaves behind is deleted (and named
    in the log), then the migration fails with the worker's reason."""
    async with orchestrator.db.session() as session:
        await restores.restoring(session, migration_id, attempt=attempt, lock=False)
    lines: list[tuple[str, str]] = []
    try:
        left_by = "the placeholder the failed restore left behind"
        await _clear_area(orchestrator.target, migration_id, lines, left_by=left_by)
    except MoodleUnavailable:
        raise  # 503: the worker reports again, the placeholder is not forgotten
    except MoodleError as error:
        lines.append(("error", f"the placeholder of the failed restore may remain: {error}"))
    async with orchestrator.db.unit_of_work() as session:
        migration = await restores.restore_failed(
            session,
            migration_id,
            attempt=attempt,
            message=message,
            message_fr=message_fr,
            details=details,
        )
        for level, text in lines:
            await add_log(session, migration_id, Step.RESTORE, text, level=level)
    return migration


async def expire(orchestrator: Orchestrator) -> list[restores.Expired]:
    """The lease watcher's pass over restores (``restores.expire_restores``). A migration at
    its limit of attempts has its area emptied and deleted, as after a failed restore, then
    fails. (One queued again needs nothing here: the next start empties the area.)"""
    settings = orchestrator.settings
    lease_seconds = restores.restore_lease_seconds(settings)
    async with orchestrator.db.unit_of_work() as session:
        expired = await restores.expire_restores(
            session, lease_seconds=lease_seconds, max_attempts=settings.backup_max_attempts
        )
    for gone in expired:
        if gone.failed:
            lines = await _clear_after_expiry(orchestrator, gone.migration_id)
            async with orchestrator.db.unit_of_work() as session:
                await restores.fail_expired(session, gone, lease_seconds=lease_seconds, lines=lines)
    return expired


async def _clear_after_expiry(
    orchestrator: Orchestrator, migration_id: int
) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    try:
        left_by = "left in the restore area by the lost attempts"
        await _clear_area(orchestrator.target, migration_id, lines, left_by=left_by)
    except MoodleError as error:  # a retry's start empties the area anyway
        lines.append(("warning", f"the restore area could not be emptied now: {error.message}"))
    return lines


async def _clear_area(
    target: MoodleClient, migration_id: int, lines: list[tuple[str, str]], *, left_by: str
) -> None:
    """Empties and deletes the migration's restore area, if any. Its log lines go to ``lines``
    as they come, so that those written before a Moodle error are kept."""
    area = await find_area(target, migration_id)
    if area is not None:
        cleanup = await empty_area(target, area.id)
        lines += [("info", f"deleted course {c}, {left_by}") for c in cleanup.removed]
        lines += [("error", problem) for problem in cleanup.problems]
        await close_area(target, area.id)
