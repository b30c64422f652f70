"""What moves a migration between the workers' steps: its own ``migration.state_changed``
events (through the outbox, so nothing is lost when a process dies) and a lease watcher.

Each step reads the migration, works outside any transaction (pre-flight, identity, Moodle),
then commits its transition conditionally on the state it read: a redelivered event finds the
state moved on and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fusion.bus import Bus, QueueSpec
from fusion.contracts import Envelope
from services.migration_orchestrator import metrics
from services.migration_orchestrator.migrations.analysis import (
    analyse_stored,
    check_identities,
    queue_restore,
)
from services.migration_orchestrator.migrations.backups import requeue_expired
from services.migration_orchestrator.migrations.events import MigrationStateChanged
from services.migration_orchestrator.migrations.models import Migration
from services.migration_orchestrator.migrations.post_restore import finish
from services.migration_orchestrator.migrations.states import State
from services.migration_orchestrator.scheduling.slots import ensure_slots
from services.migration_orchestrator.services import Orchestrator

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


def steps_queue(orchestrator: Orchestrator) -> QueueSpec:
    settings = orchestrator.settings
    return QueueSpec(
        name=f"{settings.bus_queue_prefix}{STEPS_QUEUE}",
        bindings=(MigrationStateChanged.type,),
        delivery_limit=settings.bus_delivery_limit,
        prefetch=settings.steps_prefetch,
    )


def step_handler(orchestrator: Orchestrator) -> Callable[[Envelope], Awaitable[None]]:
    async def handle(envelope: Envelope) -> None:
        event = MigrationStateChanged.model_validate(envelope.payload)
        step = STEPS.get(event.state)
        if step is not None:
            await step(orchestrator, event.migration_id)

    return handle


async def subscribe_steps(bus: Bus, orchestrator: Orchestrator) -> None:
    await bus.subscribe(steps_queue(orchestrator), step_handler(orchestrator))


async def watch_leases(orchestrator: Orchestrator) -> None:
    settings = orchestrator.settings
    while True:
        try:
            async with orchestrator.db.unit_of_work() as session:
                await requeue_expired(session, max_attempts=settings.backup_max_attempts)
                await metrics.refresh(session, orchestrator.sources)
        except Exception:  # the database may be away for a while: look again later
            log.exception("looking for expired backup leases failed")
        await asyncio.sleep(settings.lease_watch_seconds)


async def prepare(orchestrator: Orchestrator) -> None:
    async with orchestrator.db.unit_of_work() as session:
        await ensure_slots(session, orchestrator.concurrency())
