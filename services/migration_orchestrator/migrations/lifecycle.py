"""Changing a migration's state: checked against the table, stored in the history and
announced through the outbox, all in the caller's transaction."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Update, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from fusion.contracts import Envelope, Message, MigrationStateChanged
from fusion.errors import Conflict
from fusion.outbox import add_to_outbox
from services.migration_orchestrator.migrations.models import (
    Migration,
    MigrationTransition,
    messaging,
    utcnow,
)
from services.migration_orchestrator.migrations.states import STEP_OF, State, allowed
from services.migration_orchestrator.migrations.texts_fr import cause_fr as catalogue_cause_fr
from services.migration_orchestrator.observed import STEP_SECONDS, STOPPED


class TransitionRefused(Conflict):
    code = "migration_transition_refused"


class StateMoved(Conflict):
    """Another process changed the migration first: the caller's view is stale."""

    code = "migration_state_moved"


_MIGRATION: Table = Migration.__table__  # type: ignore[attr-defined]
_TRANSITION: Table = MigrationTransition.__table__  # type: ignore[attr-defined]
# Built once: Core statements with bound parameters compile once and skip the ORM's bulk-update
# path; the ORM object is then told the values it now has in the database (no second UPDATE).
_MOVE = (
    update(_MIGRATION)
    .where(_MIGRATION.c.id == bindparam("m_id"), _MIGRATION.c.state == bindparam("m_from"))
    .values(
        state=bindparam("m_to"),
        step=bindparam("m_step"),
        reason=bindparam("m_reason"),
        reason_fr=bindparam("m_reason_fr"),
        updated_at=bindparam("m_at"),
    )
)
_HISTORY = insert(_TRANSITION)


@functools.cache
def _move_setting(columns: tuple[str, ...]) -> Update:
    """``_MOVE`` also setting ``columns`` (bound as ``c_<column>``): built once per set."""
    return _MOVE.values({name: bindparam(f"c_{name}") for name in columns}) if columns else _MOVE


async def publish(session: AsyncSession, message: Message) -> None:
    await add_to_outbox(session, Envelope.of(message), outbox=messaging.outbox)


async def transition(
    session: AsyncSession,
    migration: Migration,
    to: State,
    *,
    cause: str,
    reason: str | None = None,
    reason_fr: str | None = None,
    cause_fr: str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Move ``migration`` to ``to``. The update is conditional on the state read, so two
    processes racing on one migration cannot both move it: the loser gets ``StateMoved``.
    ``changes``: other columns the step sets, written by the same statement (not by a flush
    of the ORM object afterwards: one statement fewer per step)."""
    current = State(migration.state)
    if not allowed(current, to):
        raise TransitionRefused(
            f"A migration in state '{current}' cannot go to '{to}'.",
            message_fr=f"Une migration à l'état « {current} » ne peut pas passer à « {to} ».",
        )
    step = _step_for(current, to, migration.step)
    now = utcnow()
    changed = dict(changes or {})
    result = await session.execute(
        _move_setting(tuple(sorted(changed))),
        {
            "m_id": migration.id,
            "m_from": current.value,
            "m_to": to.value,
            "m_step": step,
            "m_reason": reason,
            "m_reason_fr": reason_fr,
            "m_at": now,
            **{f"c_{name}": value for name, value in changed.items()},
        },
    )
    if getattr(result, "rowcount", 0) != 1:
        raise StateMoved(
            "The migration changed meanwhile; read it again.",
            message_fr="La migration a changé entre-temps ; relisez-la.",
        )
    STEP_SECONDS.labels(current.value).observe((now - migration.updated_at).total_seconds())
    if to in (State.FAILED, State.BLOCKED):
        STOPPED.labels(step or "", to.value).inc()
    values = {"state": to.value, "step": step, "updated_at": now}
    for name, value in {
        **values,
        "reason": reason,
        "reason_fr": reason_fr,
        **(changes or {}),
    }.items():
        set_committed_value(migration, name, value)
    french = cause_fr if cause_fr is not None else catalogue_cause_fr(cause)
    await _record(
        session,
        migration,
        current,
        to,
        cause=cause,
        cause_fr=french,
        reason=reason,
        reason_fr=reason_fr,
        at=now,
    )


def _step_for(current: State, to: State, previous: str | None) -> str | None:
    if to in (State.FAILED, State.BLOCKED):
        return STEP_OF[current].value
    if to == State.CANCELLED:
        return previous
    return None


async def _record(
    session: AsyncSession,
    migration: Migration,
    current: State,
    to: State,
    *,
    cause: str,
    cause_fr: str | None,
    reason: str | None,
    reason_fr: str | None,
    at: datetime,
) -> None:
    assert migration.id is not None
    await session.execute(
        _HISTORY,
        {
            "migration_id": migration.id,
            "from_state": current.value,
            "to_state": to.value,
            "cause": cause[:200],
            "cause_fr": None if cause_fr is None else cause_fr[:200],
            "reason": reason,
            "reason_fr": reason_fr,
            "at": at,
        },
    )
    await publish(
        session,
        MigrationStateChanged(
            migration_id=migration.id,
            source_platform=migration.source_platform,
            previous_state=current.value,
            state=to.value,
            step=migration.step,
            reason=reason,
            reason_fr=reason_fr,
            cause=cause[:200],
        ),
    )
