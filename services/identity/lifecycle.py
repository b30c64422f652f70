"""The lives of imports and plans, on the kit's lifecycle primitive (``fusion.lifecycle``).

Imports::

    queued ──► running ──► done
       │          │  ▲
       │          └──┘ a crash (not a Fusion error): the source is read again, at most
       │               ``MAX_ATTEMPTS`` times (reloading is incremental: pages already
       │               loaded come back unchanged)
       ├──► done (a source with nothing in it)
       └──► failed ◄── running (a Fusion error at once, or the last attempt)

Plans::

    computed ──► approved ──► applying ──► applied ──► reverting ──► reverted
                                 │  ▲                     │  ▲
                                 └──┘ resumed, or a crash └──┘ (retried like imports)
                                 └──► failed ─────────────►┘ (a failed plan can be reverted)

Moodle refusing a step fails the plan at once (the refusal is in the step); any other
exception is an attempt that failed, and the phase runs again (steps already applied are
skipped, nothing is sent twice) until the last attempt moves the plan to ``failed``. Every
move writes a history row and an ``…state_changed`` event in the mover's transaction; the
ends — an import finished, a plan applied or reverted — also publish their domain event.

A process that dies mid-job leaves its lease to run out (services/identity/leases.py); the job
is then taken over (services/identity/resume.py): ``queued``/``running`` → ``running`` and
``approved``/``applying`` → ``applying``, ``reverting`` → ``reverting``, the interrupted run
counting as a failed attempt, so that the last one ends in ``failed``. A failure's reason is
kept in English (``error``) and French (``error_fr``).
"""

from __future__ import annotations

from enum import StrEnum

from fusion.contracts.identity import IdentityImportStateChanged, IdentityPlanStateChanged
from fusion.lifecycle import Lifecycle
from services.identity.models import ImportJob, Plan, import_history, plan_history

MAX_ATTEMPTS = 3


class ImportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlanState(StrEnum):
    COMPUTED = "computed"
    APPROVED = "approved"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    REVERTING = "reverting"
    REVERTED = "reverted"


FINISHED_IMPORT = frozenset({ImportState.DONE, ImportState.FAILED})
# approving a plan again is allowed while it has not failed: it resumes, or is a no-op
APPLICABLE = frozenset(
    {PlanState.COMPUTED, PlanState.APPROVED, PlanState.APPLYING, PlanState.APPLIED}
)
REVERTIBLE = frozenset({PlanState.APPLIED, PlanState.FAILED, PlanState.REVERTING})
PHASE_STATE = {"apply": PlanState.APPLYING, "revert": PlanState.REVERTING}
PHASE_DONE = {"apply": PlanState.APPLIED, "revert": PlanState.REVERTED}


def _import_changed(
    job: ImportJob, previous: ImportState | None, cause: str
) -> IdentityImportStateChanged:
    return IdentityImportStateChanged(
        import_id=job.id or 0,
        previous_state=None if previous is None else str(previous),
        state=job.state,
        cause=cause,
        attempts=job.attempts,
    )


def _plan_changed(plan: Plan, previous: PlanState | None, cause: str) -> IdentityPlanStateChanged:
    return IdentityPlanStateChanged(
        plan_id=plan.id or 0,
        platform=plan.platform,
        previous_state=None if previous is None else str(previous),
        state=plan.state,
        cause=cause,
        attempts=plan.attempts,
    )


IMPORT_LIFECYCLE: Lifecycle[ImportState] = Lifecycle(
    transitions={
        ImportState.QUEUED: {ImportState.RUNNING, ImportState.DONE, ImportState.FAILED},
        ImportState.RUNNING: {ImportState.RUNNING, ImportState.DONE, ImportState.FAILED},
    },
    failed=ImportState.FAILED,
    history=import_history,
    event=_import_changed,
    max_attempts=MAX_ATTEMPTS,
    field="state",
)

PLAN_LIFECYCLE: Lifecycle[PlanState] = Lifecycle(
    transitions={
        PlanState.COMPUTED: {PlanState.APPROVED},
        PlanState.APPROVED: {PlanState.APPLYING, PlanState.FAILED},
        PlanState.APPLYING: {PlanState.APPLYING, PlanState.APPLIED, PlanState.FAILED},
        PlanState.APPLIED: {PlanState.REVERTING},
        PlanState.FAILED: {PlanState.REVERTING},
        PlanState.REVERTING: {PlanState.REVERTING, PlanState.REVERTED, PlanState.FAILED},
    },
    failed=PlanState.FAILED,
    history=plan_history,
    event=_plan_changed,
    max_attempts=MAX_ATTEMPTS,
    field="state",
)
