"""Imports and plans whose run died: taken over, at start and then every half lease.

A job still ``queued``/``running`` (an import) or ``approved``/``applying``/``reverting`` (a
plan) whose lease ran out lost its process. Any replica (or the same service restarted) takes
it over: the row is locked, found still free, given a new lease, and — when a run did hold it
(not one given back by a service stopping) — the interrupted run counts as a failed attempt.
Then the import is read again from the start (reloading is incremental: the pages already
stored come back unchanged) and the plan's phase resumes (steps already applied are skipped,
nothing is sent twice). At ``MAX_ATTEMPTS`` the job is ``failed`` instead, with the reason in
English and French. A job whose lease another live process holds is left alone.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlmodel import col

from fusion.errors import FusionError
from fusion.tasks import StopSignal, every
from fusion.unit_of_work import UnitOfWork
from services.identity.imports import end_job, gave_up_fr
from services.identity.leases import PROCESS, Lease, Leased, is_free, lease_is_free, locked
from services.identity.lifecycle import (
    IMPORT_LIFECYCLE,
    PHASE_STATE,
    PLAN_LIFECYCLE,
    ImportState,
    PlanState,
)
from services.identity.models import ImportJob, Plan
from services.identity.operations import spawn_import, spawn_phase
from services.identity.plan_runs import end_plan
from services.identity.resources import IdentityServices

log = logging.getLogger(__name__)

ACTIVE_IMPORTS = (ImportState.QUEUED, ImportState.RUNNING)
ACTIVE_PLANS = (PlanState.APPROVED, PlanState.APPLYING, PlanState.REVERTING)
DIED = "the process running it stopped (its lease ran out)"
DIED_FR = "le processus qui l'exécutait s'est arrêté (son bail a expiré)"


async def resume_abandoned(services: IdentityServices) -> None:
    async with services.db.session() as session:
        imports = await session.execute(
            select(col(ImportJob.id)).where(
                col(ImportJob.state).in_(ACTIVE_IMPORTS), is_free(ImportJob)
            )
        )
        plans = await session.execute(
            select(col(Plan.id)).where(col(Plan.state).in_(ACTIVE_PLANS), is_free(Plan))
        )
        import_ids = [i for i in imports.scalars() if i is not None]
        plan_ids = [i for i in plans.scalars() if i is not None]
    for job_id in import_ids:
        await _take_import(services, job_id)
    for plan_id in plan_ids:
        await _take_plan(services, plan_id)


async def _take(
    uow: UnitOfWork, model: type[Leased], entity_id: int, states: tuple[str, ...], seconds: float
) -> tuple[Leased, Lease, bool] | None:
    """The job locked and leased to a new run of this process, and whether a run died holding
    it; None when it finished or another process got there first."""
    entity: Leased | None = await locked(uow.session, model, entity_id)
    if entity is None or entity.state not in states or not lease_is_free(entity):
        return None
    died = entity.lease_owner is not None
    return entity, Lease.grant(entity, seconds=seconds), died


async def _take_import(services: IdentityServices, job_id: int) -> None:
    async with services.units() as uow:
        taken = await _take(
            uow, ImportJob, job_id, ACTIVE_IMPORTS, services.settings.job_lease_seconds
        )
        if taken is None:
            return
        job, lease, died = taken
        assert isinstance(job, ImportJob)
        if died:
            reason = await IMPORT_LIFECYCLE.attempt_failed(uow, job, cause=DIED)
            if reason is not None:
                await end_job(uow, job, lease, error=(reason, gave_up_fr(job.attempts, DIED_FR)))
                log.warning("import %s: %s", job_id, reason)
                return
        cause = f"taken over by {PROCESS}" + (f": {DIED}" if died else "")
        await IMPORT_LIFECYCLE.transition(uow, job, ImportState.RUNNING, cause=cause)
    log.info("import %s: %s", job_id, cause)
    spawn_import(job, lease, services=services)


async def _take_plan(services: IdentityServices, plan_id: int) -> None:
    async with services.units() as uow:
        taken = await _take(uow, Plan, plan_id, ACTIVE_PLANS, services.settings.job_lease_seconds)
        if taken is None:
            return
        plan, lease, died = taken
        assert isinstance(plan, Plan)
        phase = "revert" if plan.state == PlanState.REVERTING else "apply"
        if died:
            reason = await PLAN_LIFECYCLE.attempt_failed(uow, plan, cause=DIED)
            if reason is not None:
                await end_plan(uow, plan, lease, error=(reason, gave_up_fr(plan.attempts, DIED_FR)))
                log.warning("plan %s: %s", plan_id, reason)
                return
        try:
            services.moodle(plan.platform)
        except FusionError as error:  # the platform is no longer configured here
            await end_plan(uow, plan, lease, error=(error.message, error.message_fr))
            await PLAN_LIFECYCLE.transition(uow, plan, PlanState.FAILED, cause=error.message)
            return
        cause = f"taken over by {PROCESS}" + (f": {DIED}" if died else "")
        await PLAN_LIFECYCLE.transition(uow, plan, PHASE_STATE[phase], cause=cause)
        actor, platform = plan.requested_by or plan.approved_by or "fusion", plan.platform
    log.info("plan %s (%s): %s", plan_id, phase, cause)
    spawn_phase(lease, phase=phase, services=services, actor=actor, platform=platform)


async def watch_leases(services: IdentityServices, stop: StopSignal) -> None:
    """The background task that looks again every half lease (a service restarted right
    after a crash finds its predecessor's lease still running)."""
    work = every(
        services.settings.job_lease_seconds / 2,
        lambda: resume_abandoned(services),
        what="looking for abandoned identity imports and plans",
        outages=services.outages,
    )
    await work(stop)
