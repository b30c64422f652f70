"""Events enrolment_sync listens to."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.bus import QueueSpec
from fusion.contracts import EnrolmentMethodRegistered, Envelope
from fusion.contracts import SyncRun as SyncRunCommand
from fusion.inbox import PayloadHandler
from fusion.settings import BusFragment
from services.enrolment_sync.methods import add_method
from services.enrolment_sync.models import SyncRun
from services.enrolment_sync.runs import create_run


def methods_queue(settings: BusFragment | None = None) -> QueueSpec:
    """Without settings: the queue's own name, which the inbox uses to know its consumer."""
    return _queue("enrolment_sync.methods", (EnrolmentMethodRegistered.type,), settings)


async def on_method_registered(
    payload: EnrolmentMethodRegistered, *, session: AsyncSession, envelope: Envelope
) -> None:
    """The orchestrator validated the code when the migration was requested; record it as is.

    Registering the same method twice updates it, so a redelivery is harmless even without the
    inbox.
    """
    del envelope
    await add_method(
        session,
        course_id=payload.target_course_id,
        code=payload.apogee_code,
        year=payload.year,
        role=payload.role,
        groups=payload.with_groups,
        course_created_empty=payload.course_created_empty,
        source="orchestrator",
    )


def runs_queue(settings: BusFragment | None = None) -> QueueSpec:
    return _queue("enrolment_sync.runs", (SyncRunCommand.type,), settings)


def _queue(name: str, bindings: tuple[str, ...], settings: BusFragment | None) -> QueueSpec:
    if settings is None:
        return QueueSpec(name=name, bindings=bindings)
    return QueueSpec(
        name=f"{settings.bus_queue_prefix}{name}",
        bindings=bindings,
        delivery_limit=settings.bus_delivery_limit,
        prefetch=settings.bus_prefetch,
    )


def sync_run_handler(
    submit: Callable[[int, bool], None],
) -> PayloadHandler[SyncRunCommand]:
    """``sync.run`` commands (e.g. the orchestrator after a restore) become queued runs.

    The run is handed to the runner only once the consumer's transaction has committed, so the
    runner never looks for a run that is not there yet.
    """

    async def handle(payload: SyncRunCommand, *, session: AsyncSession, envelope: Envelope) -> None:
        del envelope
        exists = await session.scalar(
            select(col(SyncRun.id)).where(col(SyncRun.public_id) == payload.run_id)
        )
        if exists is not None:
            return  # the same command sent twice under two message ids
        run = await create_run(
            session,
            kind=payload.mode,
            trigger="event",
            course_id=payload.course_id,
            dry_run=payload.dry_run,
        )
        run.public_id = payload.run_id
        await session.flush()
        run_id, urgent = run.id or 0, payload.mode == "course"

        def after_commit(_: object) -> None:
            submit(run_id, urgent)

        event.listen(session.sync_session, "after_commit", after_commit, once=True)

    return handle
