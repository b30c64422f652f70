"""Commands enrolment_sync takes from the bus: typed handlers the runtime wraps (parse,
deduplicate through the inbox, commit, then acknowledge)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from fusion.contracts import EnrolmentMethodRegistered, RegisterEnrolmentMethods, RunSync
from fusion.runtime import Subscription
from fusion.unit_of_work import UnitOfWork
from services.enrolment_sync.methods import add_method
from services.enrolment_sync.models import SyncRun
from services.enrolment_sync.runs import create_run
from services.enrolment_sync.state import SyncState


async def on_register_methods(
    payload: RegisterEnrolmentMethods, *, uow: UnitOfWork, state: SyncState
) -> None:
    """The orchestrator validated the codes when the migration was requested: record them as
    they are. Registering the same code twice updates its method, so a repeated command
    changes nothing; each method is announced, and the course synced at once if asked."""
    for code in dict.fromkeys(payload.codes):
        method = await add_method(
            uow.session,
            course_id=payload.course_id,
            code=code,
            year=None,
            role=payload.role,
            groups=payload.groups,
            course_created_empty=payload.created_empty,
            source="orchestrator",
        )
        await uow.publish(
            EnrolmentMethodRegistered(
                method_id=method.id or 0,
                target_course_id=method.course_id,
                apogee_code=method.code,
                year=method.year,
                role=payload.role,
                with_groups=method.groups,
                course_created_empty=method.course_created_empty,
                migration_id=payload.migration_id,
            )
        )
    if payload.sync_now:
        run = await create_run(uow, kind="course", trigger="event", course_id=payload.course_id)
        uow.after_commit(lambda: state.runner.submit(run.id or 0, urgent=True))


async def on_run_sync(payload: RunSync, *, uow: UnitOfWork, state: SyncState) -> None:
    """``sync.run`` commands become queued runs, handed to the runner once committed (so it
    never looks for a run that is not there yet)."""
    exists = await uow.session.scalar(
        select(col(SyncRun.id)).where(col(SyncRun.public_id) == payload.run_id)
    )
    if exists is not None:
        return  # the same command sent twice under two message ids
    run = await create_run(
        uow,
        kind=payload.mode,
        trigger="event",
        course_id=payload.course_id,
        dry_run=payload.dry_run,
        public_id=payload.run_id,
    )
    urgent = payload.mode == "course"
    uow.after_commit(lambda: state.runner.submit(run.id or 0, urgent=urgent))


SUBSCRIPTIONS: Sequence[Subscription[Any, SyncState]] = (
    Subscription("enrolment_sync.methods", RegisterEnrolmentMethods, on_register_methods),
    Subscription("enrolment_sync.runs", RunSync, on_run_sync),
)
