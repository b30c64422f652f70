"""The life of a sync run, on the kit's lifecycle primitive (``fusion.lifecycle``).

    planning ──► applying ──► completed
        │          │  ▲ ├──► stopped ──► applying   (asked to stop: pending batches wait)
        │          │  └─┘ ──► failed ───► applying  (an operator's resume)
        │          └─ a crash (not a Fusion error), or Moodle unavailable while applying:
        │             retried, at most ``max_attempts`` times
        ├──► previewed (dry run: the plan is the answer, nothing is written)
        └──► failed

A Fusion error (Moodle or Apogée refused, the database gave up) fails the run at once; Moodle
unavailable mid-apply (down, timing out, HTTP 5xx, after the client's own retries) and any
other exception are an attempt that failed: the run stays ``applying`` and the lease watcher
resumes it, until the last attempt moves it to ``failed`` with the reason. The machinery never
resumes a failed run by itself; an operator may.
"""

from __future__ import annotations

from enum import StrEnum

from fusion.contracts import SyncRunStateChanged
from fusion.lifecycle import Lifecycle
from services.enrolment_sync.models import SyncRun, run_history

MAX_ATTEMPTS = 3


class RunStatus(StrEnum):
    PLANNING = "planning"
    APPLYING = "applying"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    PREVIEWED = "previewed"


RESUMABLE = frozenset({RunStatus.APPLYING, RunStatus.STOPPED, RunStatus.FAILED})


def _changed(run: SyncRun, previous: RunStatus | None, cause: str) -> SyncRunStateChanged:
    return SyncRunStateChanged(
        run_id=run.public_id,
        previous_state=None if previous is None else str(previous),
        state=run.status,
        cause=cause,
        attempts=run.attempts,
    )


RUN_LIFECYCLE: Lifecycle[RunStatus] = Lifecycle(
    transitions={
        RunStatus.PLANNING: {RunStatus.APPLYING, RunStatus.PREVIEWED, RunStatus.FAILED},
        RunStatus.APPLYING: {
            RunStatus.APPLYING,
            RunStatus.COMPLETED,
            RunStatus.STOPPED,
            RunStatus.FAILED,
        },
        RunStatus.STOPPED: {RunStatus.APPLYING},
        RunStatus.FAILED: {RunStatus.APPLYING},
    },
    failed=RunStatus.FAILED,
    history=run_history,
    event=_changed,
    max_attempts=MAX_ATTEMPTS,
)
