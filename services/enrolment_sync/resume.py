"""Which runs a process picks up by itself: those whose executor died.

At start, and then every half lease (a process restarted right after a crash finds its
predecessor's lease still running: without looking again, the run would wait for the next
restart), runs whose lease ran out are taken over: an ``applying`` one resumes; a half-planned
one fails and is planned again by the next run (planning writes nothing to Moodle and commits
all at once, so nothing was half done). A run resumes at most 1.5 leases after its executor
died.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from fusion.tasks import StopSignal, every
from services.enrolment_sync.leases import is_free
from services.enrolment_sync.lifecycle import RUN_LIFECYCLE, RunStatus
from services.enrolment_sync.models import SyncRun
from services.enrolment_sync.state import SyncState


async def resume_interrupted(state: SyncState) -> None:
    async with state.units() as uow:
        planning = await uow.session.execute(
            select(SyncRun).where(col(SyncRun.status) == RunStatus.PLANNING, is_free())
        )
        for run in planning.scalars():
            run.error = "interrupted while planning"
            await RUN_LIFECYCLE.transition(uow, run, RunStatus.FAILED, cause=run.error)
    await resume_abandoned(state)


async def resume_abandoned(state: SyncState) -> None:
    async with state.database.session() as session:
        runs = await session.execute(
            select(col(SyncRun.id)).where(col(SyncRun.status) == RunStatus.APPLYING, is_free())
        )
        abandoned = [run_id for run_id in runs.scalars() if run_id is not None]
    for run_id in abandoned:
        state.runner.submit(run_id)


async def watch_leases(state: SyncState, stop: StopSignal) -> None:
    """The background task that looks again every half lease."""
    work = every(
        state.settings.run_lease_seconds / 2,
        lambda: resume_abandoned(state),
        what="looking for abandoned sync runs",
        outages=state.outages,
    )
    await work(stop)
