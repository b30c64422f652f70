"""What moves a migration between the workers' steps: its own ``migration.state_changed``
events (through the outbox, so nothing is lost when a process dies) and a lease watcher.

Each step reads the migration, works outside any transaction (pre-flight, identity, Moodle),
then commits its transition conditionally on the state it read: a redelivered event finds the
state moved on and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fusion.contracts import MigrationStateChanged
from fusion.tasks import StopSignal, every
from fusion.unit_of_work import UnitOfWork
from services.migration_orchestrator import metrics
from services.migration_orchestrator.migrations import restore_area
from services.migration_orchestrator.migrations.analysis import analyse_stored, check_identities
from services.migration_orchestrator.migrations.backups import requeue_expired
from services.migration_orchestrator.migrations.models import Migration
from services.migration_orchestrator.migrations.post_restore import finish
from services.migration_orchestrator.migrations.restores import queue_restore
from services.migration_orchestrator.migrations.states import State
from services.migration_orchestrator.scheduling.slots import ensure_slots
from services.migration_orchestrator.services import Orchestrator
from services.migration_orchestrator.state import OrchestratorState

log = logging.getLogger(__name__)
STEPS_QUEUE = "migration_orchestrator.steps"
Step = Callable[[Orchestrator, int], Awaitable[None]]


async def _restore_again(orchestrator: Orchestrator, migration_id: int) -> None:
    async with orchestrator.db.unit_of_work() as session:
        migration = await session.get(Migration, migration_id, with_for_update=True)
        if migration is not None and migration.state == State.IDENTITY_CHECKED:
            await queue_restore(session, migration)


STEPS: dict[str, Step] = {
    State.BACKED_UP.value: analyse_stored,
    State.ANALYSED.value: check_identities,
    State.IDENTITY_CHECKED.value: _restore_again,
    State.POST_RESTORE.value: finish,
}


# Moves made by a step that goes on by itself: the pre-flight's run checks identities next,
# while the message that started it is still unacknowledged (a process that dies in between
# has it delivered again, and ``analyse_stored`` picks up at ``analysed``); a clean check
# passes through ``identity_checked`` on its way to ``restoring``, in the same move. Their
# events are for the other readers; a second run of the next step would only race the first.
CHAINED = frozenset(
    {
        (State.BACKED_UP.value, State.ANALYSED.value),
        (State.ANALYSED.value, State.IDENTITY_CHECKED.value),
    }
)


async def on_state_changed(
    payload: MigrationStateChanged, *, uow: UnitOfWork, state: OrchestratorState
) -> None:
    """The runtime's subscription (no inbox: each step's transition is conditional on the
    state it read, and opens its own units of work)."""
    del uow
    if (payload.previous_state, payload.state) in CHAINED:
        return
    step = STEPS.get(payload.state)
    if step is not None:
        await step(state.orchestrator, payload.migration_id)


async def watch_leases(state: OrchestratorState, stop: StopSignal) -> None:
    """A background task: backups whose worker died, and restores not reported in time, are
    queued again (or fail at the limit of attempts)."""
    orchestrator = state.orchestrator
    settings = orchestrator.settings

    async def requeue() -> None:
        async with orchestrator.db.unit_of_work() as session:
            await requeue_expired(session, max_attempts=settings.backup_max_attempts)
            await metrics.refresh(session, orchestrator.sources)
        await restore_area.expire(orchestrator)

    work = every(
        settings.lease_watch_seconds,
        requeue,
        what="looking for expired backup and restore leases",
        outages=state.outages,
        at_start=True,
    )
    await work(stop)


async def prepare(state: OrchestratorState) -> None:
    async with state.orchestrator.db.unit_of_work() as session:
        await ensure_slots(session, state.orchestrator.concurrency())
