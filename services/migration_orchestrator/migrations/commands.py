"""Retry (after a failure), resume (after an administrator resolved a blocker), cancel."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.errors import Conflict
from services.migration_orchestrator.migrations.lifecycle import transition
from services.migration_orchestrator.migrations.models import Migration
from services.migration_orchestrator.migrations.requests import queue_backup
from services.migration_orchestrator.migrations.restores import queue_restore
from services.migration_orchestrator.migrations.states import RESTART_AT, State, Step
from services.migration_orchestrator.scheduling.slots import release_slot


class NotRestartable(Conflict):
    code = "migration_not_restartable"


async def restart(session: AsyncSession, migration: Migration, *, by: str) -> Migration:
    """From the step it stopped at: failed → retry, blocked → resume."""
    expected = {"retry": State.FAILED, "resume": State.BLOCKED}
    verb = "retry" if migration.state == State.FAILED else "resume"
    if migration.state != expected[verb] or migration.step is None:
        raise NotRestartable(
            f"Only a failed or blocked migration can be restarted (this one is {migration.state}).",
            message_fr="Seule une migration échouée ou bloquée peut être relancée "
            f"(celle-ci est « {migration.state} »).",
        )
    step = Step(migration.step)
    migration.blocker = None
    cause = f"{verb} by {by}"
    if step == Step.BACKUP:
        await queue_backup(session, migration, cause=cause)
    elif step == Step.RESTORE:
        migration.restore_started_at = None
        await transition(session, migration, State.IDENTITY_CHECKED, cause=cause)
        await queue_restore(session, migration)
    else:
        await transition(session, migration, RESTART_AT[step], cause=cause)
    return migration


async def cancel(session: AsyncSession, migration: Migration, *, by: str) -> Migration:
    if migration.state in (State.DONE, State.CANCELLED, State.RESTORING, State.POST_RESTORE):
        raise NotRestartable(
            f"A migration that is {migration.state} cannot be cancelled.",
            message_fr=f"Une migration à l'état « {migration.state} » ne peut pas être annulée.",
        )
    assert migration.id is not None
    await release_slot(session, migration.id)
    migration.active_key = None  # the course may be migrated again
    await transition(session, migration, State.CANCELLED, cause=f"cancelled by {by}")
    return migration
