"""The words the pages show for the other services' states: identity's plans and their steps,
the sync's runs and its per-course results.

Each is marked for the catalogue (``N_``) and translated when the page shows it; a test checks
that every state the services define has one here, with its French.
"""

from __future__ import annotations

from fusion.web.i18n import N_

# identity's PlanState (services/identity/lifecycle.py)
PLAN_STATE_LABELS = {
    "computed": N_("ready for approval"),
    "approved": N_("approved, about to be applied"),
    "applying": N_("being applied"),
    "applied": N_("plan applied"),
    "failed": N_("failed"),
    "reverting": N_("being reverted"),
    "reverted": N_("reverted"),
}
# a plan step's status (services/identity/plans.py, plan_runs.py)
PLAN_STEP_LABELS = {
    "pending": N_("to do"),
    "applied": N_("done"),
    "blocked": N_("cannot be made"),
    "skipped": N_("skipped (the account changed or is gone)"),
    "refused": N_("refused by Moodle"),
}
# the sync's RunStatus (services/enrolment_sync/lifecycle.py) and a course's result in a run
SYNC_STATUS_LABELS = {
    "planning": N_("being prepared"),
    "previewed": N_("preview"),
    "applying": N_("in progress"),
    "completed": N_("done"),
    "stopped": N_("interrupted"),
    "failed": N_("failed"),
    "planned": N_("planned"),
    "applied": N_("applied"),
    "unchanged": N_("up to date"),
    "blocked": N_("stopped"),
}
# a migration's steps (services/migration_orchestrator/migrations/states.py, Step) and the
# levels of its log lines, as its page's log shows them
STEP_LABELS = {
    "backup": N_("backup"),
    "analyse": N_("analysis"),
    "identity": N_("users"),
    "restore": N_("restore"),
    "post_restore": N_("finishing"),
}
LOG_LEVEL_LABELS = {
    "info": N_("note"),
    "warning": N_("to know"),
    "blocking": N_("blocking"),
    "error": N_("error"),
}
