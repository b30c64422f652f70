"""The migration's states, which changes are allowed, and where a retry starts again."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    REQUESTED = "requested"
    BACKUP_QUEUED = "backup_queued"
    BACKING_UP = "backing_up"
    BACKED_UP = "backed_up"
    ANALYSED = "analysed"
    IDENTITY_CHECKED = "identity_checked"
    RESTORING = "restoring"
    POST_RESTORE = "post_restore"
    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class Step(StrEnum):
    """The work that leads out of a state; a failure or a blocker names its step."""

    BACKUP = "backup"
    ANALYSE = "analyse"
    IDENTITY = "identity"
    RESTORE = "restore"
    POST_RESTORE = "post_restore"


S = State
_STOPPED = {S.FAILED, S.BLOCKED, S.CANCELLED}
TRANSITIONS: dict[State, frozenset[State]] = {
    S.REQUESTED: frozenset({S.BACKUP_QUEUED}),
    S.BACKUP_QUEUED: frozenset({S.BACKING_UP}),
    S.BACKING_UP: frozenset({S.BACKED_UP, S.BACKUP_QUEUED}),
    S.BACKED_UP: frozenset({S.ANALYSED}),
    S.ANALYSED: frozenset({S.IDENTITY_CHECKED}),
    S.IDENTITY_CHECKED: frozenset({S.RESTORING}),
    S.RESTORING: frozenset({S.POST_RESTORE}),
    S.POST_RESTORE: frozenset({S.DONE}),
    S.DONE: frozenset(),
    S.FAILED: frozenset(),  # left only through retry
    S.BLOCKED: frozenset(),  # left only through resume
    S.CANCELLED: frozenset(),
}
# Any running state may fail, block or be cancelled.
for _state in (S.REQUESTED, S.BACKUP_QUEUED, S.BACKING_UP, S.BACKED_UP, S.ANALYSED):
    TRANSITIONS[_state] |= _STOPPED
for _state in (S.IDENTITY_CHECKED, S.RESTORING, S.POST_RESTORE):
    TRANSITIONS[_state] |= _STOPPED
# A backup taken before an identity conflict was resolved on the source platform still holds
# the old values in its users.xml, which Moodle's restore compares: a fresh backup is taken.
TRANSITIONS[S.ANALYSED] |= {S.BACKUP_QUEUED}

# The state a retry (after failed) or a resume (after blocked) goes back to, by step.
RESTART_AT: dict[Step, State] = {
    Step.BACKUP: S.BACKUP_QUEUED,
    Step.ANALYSE: S.BACKED_UP,
    Step.IDENTITY: S.ANALYSED,
    Step.RESTORE: S.IDENTITY_CHECKED,
    Step.POST_RESTORE: S.POST_RESTORE,
}
for _state in (S.FAILED, S.BLOCKED):
    TRANSITIONS[_state] |= {S.CANCELLED, *RESTART_AT.values()}
# The step that runs while the migration is in each running state.
STEP_OF: dict[State, Step] = {
    S.REQUESTED: Step.BACKUP,
    S.BACKUP_QUEUED: Step.BACKUP,
    S.BACKING_UP: Step.BACKUP,
    S.BACKED_UP: Step.ANALYSE,
    S.ANALYSED: Step.IDENTITY,
    S.IDENTITY_CHECKED: Step.RESTORE,
    S.RESTORING: Step.RESTORE,
    S.POST_RESTORE: Step.POST_RESTORE,
}
TERMINAL = frozenset({S.DONE, S.CANCELLED})
ACTIVE = frozenset(set(State) - TERMINAL - {S.FAILED, S.BLOCKED})


def allowed(current: State, to: State) -> bool:
    return to in TRANSITIONS[current]


# What a teacher reads on "my migrations" for each state (French first).
LABELS_FR: dict[State, str] = {
    S.REQUESTED: "Demandée",
    S.BACKUP_QUEUED: "En file d'attente pour la sauvegarde",
    S.BACKING_UP: "Sauvegarde en cours",
    S.BACKED_UP: "Sauvegardée",
    S.ANALYSED: "Sauvegarde analysée",
    S.IDENTITY_CHECKED: "Utilisateurs vérifiés",
    S.RESTORING: "Restauration en cours",
    S.POST_RESTORE: "Finalisation",
    S.DONE: "Terminée",
    S.FAILED: "Échouée",
    S.BLOCKED: "Bloquée",
    S.CANCELLED: "Annulée",
}
