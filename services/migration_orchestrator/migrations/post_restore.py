"""After the restore: the course as the requester wanted it, its links, teachers and students.

Every action is safe to repeat: a crash midway and the redelivered event do it all again.
Moodle 4.5 renames a course restored into a category (" copy N", "_N") and shows it, so
names, shortname and visibility are set here whatever the restore left.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.contracts import MigrationCompleted, RegisterEnrolmentMethods
from fusion.moodle import CourseUpdate, ManualEnrolment, MoodleClient, MoodleError
from fusion.moodle.releases import MoodleWelcomeMessagesOn
from services.migration_orchestrator.migrations.lifecycle import (
    StateMoved,
    message_row,
    one_move,
    transition,
)
from services.migration_orchestrator.migrations.logs import log_row
from services.migration_orchestrator.migrations.meta_links import (
    LINKS_DUE,
    create_due_links,
    record_links,
)
from services.migration_orchestrator.migrations.models import Migration
from services.migration_orchestrator.migrations.queries import WITH_REPORT
from services.migration_orchestrator.migrations.states import State, Step
from services.migration_orchestrator.preflight.report import BackupReport
from services.migration_orchestrator.services import Orchestrator

log = logging.getLogger(__name__)


async def _set_course(
    target: MoodleClient, migration: Migration, report: BackupReport
) -> list[str]:
    assert migration.target_course_id is not None
    notes = []
    update = CourseUpdate(
        id=migration.target_course_id,
        fullname=migration.fullname or report.course.fullname,
        shortname=migration.shortname or report.course.shortname,
        visible=migration.visible,
    )
    try:
        await target.update_courses([update])
    except MoodleError as error:  # most often: the shortname is taken on the target
        notes.append(f"names not set: {error}")
        await target.update_courses(
            [CourseUpdate(id=migration.target_course_id, visible=migration.visible)]
        )
    if migration.apogee_codes:
        idnumber = ",".join(migration.apogee_codes)[:100]
        try:
            await target.update_courses(
                [CourseUpdate(id=migration.target_course_id, idnumber=idnumber)]
            )
        except MoodleError as error:
            notes.append(f"idnumber {idnumber} not set: {error}")
    return notes


async def _enrol_teachers(target: MoodleClient, migration: Migration, *, role_id: int) -> list[str]:
    if not migration.enrol_teachers:
        return []
    assert migration.target_course_id is not None
    users = await target.get_users_by_field("username", migration.enrol_teachers)
    found = {str(u["username"]): int(u["id"]) for u in users}
    rows = [
        ManualEnrolment(roleid=role_id, userid=user_id, courseid=migration.target_course_id)
        for user_id in found.values()
    ]
    notes = [
        f"teacher {name} has no account on the target"
        for name in migration.enrol_teachers
        if name not in found
    ]
    if rows:
        try:
            await target.enrol_users(rows)
        except (MoodleError, MoodleWelcomeMessagesOn) as error:
            notes.append(f"teachers not enrolled: {error}")
    return notes


# The migration, its report, and whether meta links wait for it: what ``finish`` reads first.
_FINISHING = WITH_REPORT.add_columns(LINKS_DUE.label("links_due"))


async def finish(orchestrator: Orchestrator, migration_id: int) -> None:
    async with orchestrator.db.read() as session:
        found = (await session.execute(_FINISHING, {"migration_id": migration_id})).first()
    if found is None:
        return
    migration, analysis, links_due = found
    if migration.state != State.POST_RESTORE or analysis is None:
        return
    report = BackupReport.model_validate(analysis.report)
    target = orchestrator.target
    notes = await _set_course(target, migration, report)
    notes += await _enrol_teachers(target, migration, role_id=orchestrator.settings.teacher_role_id)
    linked = [m.source_course_id for m in report.meta_links if m.source_course_id]
    with suppress(StateMoved):  # cancelled meanwhile, or another run finished it first
        if not linked and not links_due:  # most courses: the move alone
            async with one_move(orchestrator.db, len(notes) + 2) as session:
                await _complete(session, migration, notes)
            return
        async with orchestrator.db.unit_of_work() as session:
            # Locked while links are made: a second run waits, then finds it done.
            locked = await session.get(Migration, migration_id, with_for_update=True)
            if locked is None or locked.state != State.POST_RESTORE:
                return
            await record_links(session, locked, linked)
            notes += await create_due_links(session, locked, target=target)
            await _complete(session, locked, notes)


async def _complete(session: AsyncSession, migration: Migration, notes: list[str]) -> None:
    """``done``, with its notes, and what it tells the others, in one move."""
    assert migration.id is not None
    assert migration.target_course_id is not None
    rows = [log_row(migration.id, Step.POST_RESTORE, note) for note in notes]
    if migration.apogee_codes:
        register = RegisterEnrolmentMethods(
            migration_id=migration.id,
            course_id=migration.target_course_id,
            codes=migration.apogee_codes,
        )
        rows.append(message_row(register))
    completed = MigrationCompleted(
        migration_id=migration.id,
        source_platform=migration.source_platform,
        source_course_id=migration.source_course_id,
        target_course_id=migration.target_course_id,
    )
    rows.append(message_row(completed))
    await transition(session, migration, State.DONE, cause="post-restore", rows=rows)
