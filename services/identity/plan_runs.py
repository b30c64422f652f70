"""Running a plan's steps against Moodle, round by round, and reverting an applied plan; the
plan's moves follow ``PLAN_LIFECYCLE`` (services/identity/lifecycle.py).

Approving a plan or asking its revert grants the run its lease (services/identity/leases.py)
in the same transaction, unless another live run holds it (then nothing more is started);
every transaction of the run is fenced by the lease, and the last one frees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.contracts.identity import IdentityPlanApplied, IdentityPlanReverted
from fusion.errors import FusionError
from fusion.moodle.client import MoodleClient
from fusion.moodle.rows import UserUpdate
from fusion.unit_of_work import UnitOfWork
from services.identity.analysis import analyse
from services.identity.imports import gave_up_fr
from services.identity.leases import Lease, LeaseLost, lease_is_free, locked
from services.identity.lifecycle import (
    APPLICABLE,
    PHASE_DONE,
    PHASE_STATE,
    PLAN_LIFECYCLE,
    REVERTIBLE,
    PlanState,
)
from services.identity.models import Account, AuditEntry, Plan, PlanStep, utcnow
from services.identity.moodle_source import accounts_by_field
from services.identity.plan_order import Change, order_changes
from services.identity.plans import PlanStateConflict, get_plan
from services.identity.records import AccountFacts
from services.identity.resources import Units
from services.identity.store import account_facts, save_accounts

log = logging.getLogger(__name__)


async def _locked_plan(uow: UnitOfWork, plan_id: int) -> Plan:
    await get_plan(uow.session, plan_id)  # a 404 for an unknown plan
    plan: Plan = await locked(uow.session, Plan, plan_id)
    return plan


def _run_lease(plan: Plan, *, actor: str, seconds: float) -> Lease | None:
    """A lease for a new run, unless another live run holds the plan."""
    if not lease_is_free(plan):
        return None
    plan.requested_by = actor
    return Lease.grant(plan, seconds=seconds)


async def approve(
    uow: UnitOfWork, plan_id: int, *, actor: str, lease_seconds: float
) -> tuple[Plan, Lease | None]:
    """Approve a computed plan; a plan already approved, applying or applied is returned as it
    is (applying it again resumes it, or is a no-op once applied). The lease is the run's to
    start; None when there is nothing to run or another live run holds the plan."""
    plan = await _locked_plan(uow, plan_id)
    if plan.state not in APPLICABLE:
        raise PlanStateConflict(
            f"A plan in state '{plan.state}' cannot be applied.",
            message_fr=f"Un plan dans l'état « {plan.state} » ne peut pas être appliqué.",
        )
    if plan.state == PlanState.APPLIED:
        return plan, None
    lease = _run_lease(plan, actor=actor, seconds=lease_seconds)
    if lease is not None and plan.state == PlanState.COMPUTED:
        plan.approved_by, plan.approved_at = actor, utcnow()
        await PLAN_LIFECYCLE.transition(uow, plan, PlanState.APPROVED, cause=f"approved by {actor}")
    return plan, lease


async def start_revert(
    uow: UnitOfWork, plan_id: int, *, actor: str, lease_seconds: float
) -> tuple[Plan, Lease | None]:
    plan = await _locked_plan(uow, plan_id)
    if plan.state not in REVERTIBLE:
        raise PlanStateConflict(
            f"A plan in state '{plan.state}' cannot be reverted.",
            message_fr=f"Un plan dans l'état « {plan.state} » ne peut pas être annulé.",
        )
    lease = _run_lease(plan, actor=actor, seconds=lease_seconds)
    if lease is not None and plan.state != PlanState.REVERTING:
        await _plan_revert_steps(uow.session, plan)
        plan.attempts = 0  # the revert is a new piece of work, with its own attempts
        cause = f"revert asked by {actor}"
        await PLAN_LIFECYCLE.transition(uow, plan, PlanState.REVERTING, cause=cause)
    return plan, lease


async def _plan_revert_steps(session: AsyncSession, plan: Plan) -> None:
    """The reverse changes, from the audit: each field back to the value it had first."""
    query = (
        select(AuditEntry)
        .where(col(AuditEntry.plan_id) == plan.id, col(AuditEntry.action) == "apply")
        .order_by(col(AuditEntry.id))
    )
    original: dict[int, dict[str, str]] = defaultdict(dict)
    latest: dict[int, dict[str, str]] = defaultdict(dict)
    for entry in (await session.execute(query)).scalars():
        original[entry.moodle_id].setdefault(entry.field, entry.previous_value)
        latest[entry.moodle_id][entry.field] = entry.new_value
    changes = [
        Change(m, {f: (latest[m][f], v) for f, v in fields.items() if latest[m][f] != v})
        for m, fields in original.items()
    ]
    changes = [c for c in changes if c.values]
    accounts = list(
        (
            await session.execute(select(Account).where(col(Account.platform) == plan.platform))
        ).scalars()
    )
    by_moodle = {a.moodle_id: a for a in accounts}
    ordered = order_changes(changes, [account_facts(a) for a in accounts], tag=f"r{plan.id}")
    for step in ordered.steps:
        session.add(
            PlanStep(
                plan_id=plan.id or 0,
                phase="revert",
                round=step.round,
                account_id=by_moodle[step.moodle_id].id or 0,
                moodle_id=step.moodle_id,
                values={k: list(v) for k, v in step.values.items()},
                temporary=step.temporary,
            )
        )
    await session.flush()


async def run_phase(
    *,
    lease: Lease,
    phase: str,
    units: Units,
    moodle: MoodleClient,
    actor: str,
    batch_size: int,
    target: str | None,
) -> Plan:
    """Apply the pending steps of one phase, round by round; the last round's commit sets the
    final state. A crash is an attempt that failed: the phase runs again (applied steps are
    skipped) until ``MAX_ATTEMPTS``, then the plan is ``failed`` with the reason. A run another
    process took over stops at its next transaction; a cancelled one gives its lease back."""
    plan_id = lease.entity_id
    try:
        async with lease.kept(units):
            while True:
                try:
                    return await _run_phase_once(
                        lease,
                        phase=phase,
                        units=units,
                        moodle=moodle,
                        actor=actor,
                        batch_size=batch_size,
                        target=target,
                    )
                except (LeaseLost, asyncio.CancelledError):
                    raise
                except FusionError as error:  # Moodle or the database said no: no retrying
                    return await fail(units, lease, reason=(error.message, error.message_fr))
                except Exception as error:  # recorded on the plan instead of dying unseen
                    log.warning("plan %s (%s): attempt failed", plan_id, phase, exc_info=True)
                    gave_up = await _attempt_failed(units, lease, phase=phase, error=error)
                    if gave_up is not None:
                        return gave_up
    except LeaseLost:
        log.info("plan %s: taken over by another process, this run stops", plan_id)
    except asyncio.CancelledError:
        await lease.give_back(units)
        raise
    async with units() as uow:
        plan, _ = await get_plan(uow.session, plan_id)
        return plan


async def fail(units: Units, lease: Lease, *, reason: tuple[str, str]) -> Plan:
    async with units() as uow:
        await lease.fence(uow.session)
        plan, _ = await get_plan(uow.session, lease.entity_id)
        await end_plan(uow, plan, lease, error=reason)
        await PLAN_LIFECYCLE.transition(uow, plan, PlanState.FAILED, cause=reason[0])
    return plan


async def end_plan(
    uow: UnitOfWork, plan: Plan, lease: Lease | None, *, error: tuple[str, str] | None
) -> None:
    plan.error, plan.error_fr = (None, None) if error is None else (error[0][:500], error[1][:500])
    plan.finished_at = utcnow()
    if lease is not None:
        await lease.end(uow.session)


async def _run_phase_once(
    lease: Lease,
    *,
    phase: str,
    units: Units,
    moodle: MoodleClient,
    actor: str,
    batch_size: int,
    target: str | None,
) -> Plan:
    plan_id = lease.entity_id
    async with units() as uow:
        await lease.fence(uow.session)
        plan, steps = await get_plan(uow.session, plan_id)
        if plan.state == PHASE_DONE[phase]:
            return plan  # applied (or reverted) already: doing it again is a no-op
        running = PHASE_STATE[phase]
        if plan.state != running:  # a revert is ``reverting`` from its request on
            cause = f"{phase} started by {actor}"
            await PLAN_LIFECYCLE.transition(uow, plan, running, cause=cause)
        rounds = sorted({s.round for s in steps if s.phase == phase and s.status == "pending"})
    for round_ in rounds:
        refused = await _run_round(
            lease,
            round_,
            phase=phase,
            units=units,
            moodle=moodle,
            actor=actor,
            batch_size=batch_size,
        )
        if refused:
            return await _finish(lease, units=units, phase=phase, failed=refused, target=target)
    return await _finish(lease, units=units, phase=phase, failed=0, target=target)


async def _attempt_failed(
    units: Units, lease: Lease, *, phase: str, error: Exception
) -> Plan | None:
    cause = f"{phase}: unexpected failure ({type(error).__name__})"
    async with units() as uow:
        await lease.fence(uow.session)
        plan, _ = await get_plan(uow.session, lease.entity_id)
        reason = await PLAN_LIFECYCLE.attempt_failed(uow, plan, cause=cause)
        if reason is None:
            running = PHASE_STATE[phase]
            if plan.state == running:
                again = f"attempt {plan.attempts} failed: {cause}; running the phase again"
                await PLAN_LIFECYCLE.transition(uow, plan, running, cause=again)
            return None
        what = "application" if phase == "apply" else "annulation"
        cause_fr = f"{what} : échec imprévu ({type(error).__name__})"
        await end_plan(uow, plan, lease, error=(reason, gave_up_fr(plan.attempts, cause_fr)))
    return plan


async def _run_round(
    lease: Lease,
    round_: int,
    *,
    phase: str,
    units: Units,
    moodle: MoodleClient,
    actor: str,
    batch_size: int,
) -> int:
    refused = 0
    async with units() as uow:
        session = uow.session
        await lease.fence(session)
        plan, steps = await get_plan(session, lease.entity_id)
        pending = [
            s for s in steps if s.phase == phase and s.round == round_ and s.status == "pending"
        ]
        for start in range(0, len(pending), batch_size):
            refused += await _run_batch(
                session,
                plan,
                pending[start : start + batch_size],
                moodle=moodle,
                actor=actor,
                phase=phase,
            )
    return refused


async def _run_batch(
    session: AsyncSession,
    plan: Plan,
    batch: list[PlanStep],
    *,
    moodle: MoodleClient,
    actor: str,
    phase: str,
) -> int:
    current = {
        a.moodle_id: a
        for a in await accounts_by_field(
            moodle, plan.platform, field="id", values=[s.moodle_id for s in batch]
        )
    }
    to_send: list[PlanStep] = []
    for step in batch:
        now = current.get(step.moodle_id)
        if now is None:
            step.status, step.message = "skipped", "the account is gone from the platform"
        elif all(getattr(now, f) == new for f, (_, new) in step.values.items()):
            step.status = "applied"  # done already: nothing is sent twice
        elif any(getattr(now, f) not in (old, new) for f, (old, new) in step.values.items()):
            step.status, step.message = (
                "skipped",
                "changed on the platform since the plan was computed",
            )
        else:
            to_send.append(step)
    rows = [
        UserUpdate(id=s.moodle_id, **{f: new for f, (_, new) in s.values.items()}) for s in to_send
    ]
    result = await moodle.update_users(rows) if rows else None
    refused_ids = {row.id: error for row, error in result.failed} if result else {}
    updated: list[AccountFacts] = []
    for step in to_send:
        error = refused_ids.get(step.moodle_id)
        if error is not None:
            step.status, step.message = "refused", f"{error.errorcode}: {error}"[:500]
            continue
        step.status = "applied"
        now = current[step.moodle_id]
        for name, (_, new) in step.values.items():
            session.add(
                AuditEntry(
                    plan_id=plan.id or 0,
                    action=phase,
                    platform=plan.platform,
                    moodle_id=step.moodle_id,
                    field=name,
                    previous_value=str(getattr(now, name)),
                    new_value=new,
                    outcome="applied",
                    actor=actor,
                )
            )
        updated.append(_with_values(now, step))
        plan.applied_steps += 1
    await save_accounts(session, updated)
    return len(refused_ids)


def _with_values(account: AccountFacts, step: PlanStep) -> AccountFacts:
    return replace(account, **{f: new for f, (_, new) in step.values.items()})


async def _finish(
    lease: Lease, *, units: Units, phase: str, failed: int, target: str | None
) -> Plan:
    plan_id = lease.entity_id
    async with units() as uow:
        await lease.fence(uow.session)
        plan, steps = await get_plan(uow.session, plan_id)
        done = sum(1 for s in steps if s.phase == phase and s.status == "applied")
        if failed:
            refused = (
                f"{failed} step(s) refused by Moodle",
                f"{failed} étape(s) refusée(s) par Moodle",
            )
            await end_plan(uow, plan, lease, error=refused)
            await PLAN_LIFECYCLE.transition(uow, plan, PlanState.FAILED, cause=refused[0])
        else:
            await end_plan(uow, plan, lease, error=None)
            cause = f"{done} step(s) {'applied' if phase == 'apply' else 'restored'}"
            await PLAN_LIFECYCLE.transition(uow, plan, PHASE_DONE[phase], cause=cause)
        event = (
            IdentityPlanApplied(
                plan_id=plan_id, platform=plan.platform, applied_steps=done, refused_steps=failed
            )
            if phase == "apply"
            else IdentityPlanReverted(plan_id=plan_id, platform=plan.platform, restored_steps=done)
        )
        await uow.publish(event)
        await analyse(uow.session, target=target)
    return plan
