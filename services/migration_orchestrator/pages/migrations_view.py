"""Migrations as a teacher or support reads them: through the orchestrator's own functions,
with the same visibility rule as its API (a teacher sees every migration of the courses they
teach, whoever started it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.auth import Principal
from fusion.web import WebUser
from fusion.web.i18n import N_
from services.migration_orchestrator.migrations import queries
from services.migration_orchestrator.migrations.schemas import MigrationPublic
from services.migration_orchestrator.migrations.states import State

PAGES_CLIENT = "pages"
STOPPED = frozenset({State.DONE, State.FAILED, State.BLOCKED, State.CANCELLED})
# What happens next, as a teacher reads it.
NEXT_STEP = {
    "requested": N_("The backup of the course will be queued on its platform."),
    "backup_queued": N_(
        "The course waits for its turn: each platform backs up a few courses at a time."
    ),
    "backing_up": N_("Moodle is backing up the course on its platform."),
    "backed_up": N_("Fusion will look through the backup for what could go wrong."),
    "analysed": N_("Fusion will check the course's users against the merged platform."),
    "identity_checked": N_("The course will be restored on the merged platform."),
    "restoring": N_("Moodle is restoring the course on the merged platform."),
    "post_restore": N_(
        "Fusion sets the names, Apogée codes, meta links and teachers of the new course."
    ),
    "done": N_("Nothing: the course is on the merged platform."),
    "failed": N_("The support team has been told; it can be retried from the step that failed."),
    "blocked": N_("The support team must resolve what blocks it, then resume the migration."),
    "cancelled": N_("Nothing: the course can be migrated again."),
}
STATE_LABELS = {
    "requested": N_("Requested"),
    "backup_queued": N_("Waiting for its backup"),
    "backing_up": N_("Backing up"),
    "backed_up": N_("Backed up"),
    "analysed": N_("Backup analysed"),
    "identity_checked": N_("Users checked"),
    "restoring": N_("Restoring"),
    "post_restore": N_("Finishing"),
    "done": N_("Done"),
    "failed": N_("Failed"),
    "blocked": N_("Blocked"),
    "cancelled": N_("Cancelled"),
}


def principal_of(user: WebUser) -> Principal:
    """The pages act for the signed-in user: as an administrator, or as a teacher."""
    if user.is_admin:
        return Principal(client=PAGES_CLIENT, role="admin", acting_user=user.username)
    return Principal(client=PAGES_CLIENT, role="plugin", acting_user=user.username)


def may_retry(migration: MigrationPublic, user: WebUser) -> bool:
    """A failed one by anyone who sees it; a blocked one (resume) once support resolved it."""
    return migration.state == "failed" or (migration.state == "blocked" and user.is_admin)


def may_cancel(migration: MigrationPublic) -> bool:
    return migration.state not in ("done", "cancelled", "restoring", "post_restore")


async def latest_by_course(
    session: AsyncSession, user: WebUser, platform: str
) -> dict[int, MigrationPublic]:
    found = await queries.list_migrations(
        session,
        principal_of(user),
        state=None,
        platform=platform,
        batch_id=None,
        limit=500,
        offset=0,
    )
    latest: dict[int, MigrationPublic] = {}
    for migration in found.items:  # newest first: keep the first seen, unless it was cancelled
        current = latest.get(migration.source_course_id)
        if current is None or (current.state == "cancelled" and migration.state != "cancelled"):
            latest[migration.source_course_id] = migration
    return latest


# Why each step of the timeline happened, as the orchestrator records it (English, for the
# logs) and as the page says it. A cause not listed here is shown as it is, escaped.
_CAUSES = {
    "request": N_("asked for"),
    "pre-flight": N_("the backup was looked through"),
    "restore-check": N_("the course's users were checked against the merged platform"),
    "restore queued": N_("the restore was queued"),
    "post-restore": N_("the course was finished on the merged platform"),
    "backup failed": N_("the backup failed"),
    "restore lease expired": N_("no news of the restore in time: queued again"),
    "target refused the restore area": N_("the merged platform refused the restore area"),
    "new backup after identity resolution": N_(
        "a new backup, as the accounts were corrected on the platform"
    ),
    "step": N_("next step"),
}
_CAUSES_BY = {
    "requested by ": N_("asked for by %(who)s"),
    "retry by ": N_("retried by %(who)s"),
    "resume by ": N_("resumed by %(who)s"),
    "cancelled by ": N_("cancelled by %(who)s"),
    "worker ": N_("by the platform's worker (%(who)s)"),
    "retry after: ": N_("tried again after: %(who)s"),
}


@dataclass(frozen=True)
class Cause:
    """``message`` (to translate, with ``params``) when the cause is known, else ``raw``."""

    message: str | None
    params: dict[str, str]
    raw: str


def explain_cause(cause: str) -> Cause:
    if cause in _CAUSES:
        return Cause(_CAUSES[cause], {}, cause)
    for start, message in _CAUSES_BY.items():
        if cause.startswith(start) and len(cause) > len(start):
            return Cause(message, {"who": cause[len(start) :]}, cause)
    return Cause(None, {}, cause)
