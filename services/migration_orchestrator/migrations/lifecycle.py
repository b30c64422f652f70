"""Changing a migration's state: checked against the table, stored in the history and
announced through the outbox, all in the caller's transaction."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Update, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from fusion.contracts import Envelope, Message, MigrationStateChanged
from fusion.db import Database
from fusion.errors import Conflict
from fusion.guarded import ROWS_IN_ONE_STATEMENT, Alongside, Insertion, update_then_insert
from fusion.outbox import note_staged, outbox_row
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


@functools.cache
def _move_setting(columns: tuple[str, ...], expected: tuple[str, ...] = ()) -> Update:
    """``_MOVE`` also setting ``columns`` (bound as ``c_<column>``) and guarded by the values
    of ``expected`` (bound as ``e_<column>``): built once per pair of sets."""
    move = _MOVE.values({name: bindparam(f"c_{name}") for name in columns}) if columns else _MOVE
    for name in expected:
        move = move.where(_MIGRATION.c[name] == bindparam(f"e_{name}"))
    return move


def one_move(db: Database, rows: int = 0) -> AsyncContextManager[AsyncSession]:
    """The unit of work of a step that only moves its migration, with ``rows`` rows of its own
    (log lines, other messages): one statement sent alone (``Database.one_statement``) when
    they fit in it, else a transaction."""
    announced = 6  # a move through two states writes three history rows and three events
    if rows + announced <= ROWS_IN_ONE_STATEMENT:
        return db.one_statement()
    return db.unit_of_work()


def message_row(message: Message | Envelope) -> Insertion:
    """An outbox message to insert with a move (``transition(..., rows=...)``)."""
    envelope = message if isinstance(message, Envelope) else Envelope.of(message)
    return Insertion(messaging.outbox, outbox_row(envelope))


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
    rows: Sequence[Insertion] = (),
    via: Sequence[tuple[State, str]] = (),
    expect: Mapping[str, Any] | None = None,
    alongside: Sequence[Alongside] = (),
) -> None:
    """Move ``migration`` to ``to``. The update is conditional on the state read, so two
    processes racing on one migration cannot both move it: the loser gets ``StateMoved``.
    ``changes``: other columns the step sets, written by the same statement (not by a flush
    of the ORM object afterwards). ``rows``: what exists only if the move happens (log lines,
    other messages: ``log_row``, ``message_row``), written with it; on PostgreSQL the move,
    its history row, its event and those rows are one statement (``fusion.guarded``).
    ``via``: states passed through on the way, in order, each with its cause (``analysed``
    and ``identity_checked`` on the way to ``restoring``): their history rows and events are
    written too, by the same statement.
    ``expect``: other columns the move is conditional on (the restore attempt a report is
    for), as the state is: a migration read outside any transaction is moved safely.
    ``alongside``: updates of other tables made only if the move is (a slot released)."""
    current = State(migration.state)
    passed = [current, *(state for state, _ in via), to]
    causes = [*(why for _, why in via), cause]
    legs = list(zip(passed[:-1], passed[1:], causes, strict=True))
    for start, end, _ in legs:
        if not allowed(start, end):
            raise TransitionRefused(
                f"A migration in state '{start}' cannot go to '{end}'.",
                message_fr=f"Une migration à l'état « {start} » ne peut pas passer à « {end} ».",
            )
    assert migration.id is not None
    now = utcnow()
    written: list[Insertion] = []
    step = migration.step
    for start, end, why in legs:
        step = _step_for(start, end, step)
        last = end == to
        written += _announced(
            migration,
            start,
            end,
            step=step,
            cause=why,
            cause_fr=cause_fr if last else None,
            reason=reason if last else None,
            reason_fr=reason_fr if last else None,
            at=now,
        )
    changed, expected = dict(changes or {}), dict(expect or {})
    moved = await update_then_insert(
        session,
        _move_setting(tuple(sorted(changed)), tuple(sorted(expected))),
        {
            "m_id": migration.id,
            "m_from": current.value,
            "m_to": to.value,
            "m_step": step,
            "m_reason": reason,
            "m_reason_fr": reason_fr,
            "m_at": now,
            **{f"c_{name}": value for name, value in changed.items()},
            **{f"e_{name}": value for name, value in expected.items()},
        },
        [*written, *rows],
        alongside,
    )
    if not moved:
        raise StateMoved(
            "The migration changed meanwhile; read it again.",
            message_fr="La migration a changé entre-temps ; relisez-la.",
        )
    note_staged(session, messaging.outbox)
    STEP_SECONDS.labels(current.value).observe((now - migration.updated_at).total_seconds())
    for state, _ in via:
        STEP_SECONDS.labels(state.value).observe(0.0)
    if to in (State.FAILED, State.BLOCKED):
        STOPPED.labels(step or "", to.value).inc()
    values = {"state": to.value, "step": step, "updated_at": now}
    for name, value in {**values, "reason": reason, "reason_fr": reason_fr, **changed}.items():
        set_committed_value(migration, name, value)


def history_row(
    migration_id: int,
    current: State | None,
    to: State,
    *,
    cause: str,
    at: datetime,
    cause_fr: str | None = None,
    reason: str | None = None,
    reason_fr: str | None = None,
) -> dict[str, Any]:
    """A ``migration_transition`` row: ``cause_fr`` by default the catalogue's French."""
    french = cause_fr if cause_fr is not None else catalogue_cause_fr(cause)
    return {
        "migration_id": migration_id,
        "from_state": None if current is None else current.value,
        "to_state": to.value,
        "cause": cause[:200],
        "cause_fr": None if french is None else french[:200],
        "reason": reason,
        "reason_fr": reason_fr,
        "at": at,
    }


def _announced(
    migration: Migration,
    current: State,
    to: State,
    *,
    step: str | None,
    cause: str,
    cause_fr: str | None,
    reason: str | None,
    reason_fr: str | None,
    at: datetime,
) -> list[Insertion]:
    """The history row and the event of one move."""
    assert migration.id is not None
    history = history_row(
        migration.id,
        current,
        to,
        cause=cause,
        cause_fr=cause_fr,
        reason=reason,
        reason_fr=reason_fr,
        at=at,
    )
    event = MigrationStateChanged(
        migration_id=migration.id,
        source_platform=migration.source_platform,
        previous_state=current.value,
        state=to.value,
        step=step,
        reason=reason,
        reason_fr=reason_fr,
        cause=cause[:200],
    )
    return [Insertion(_TRANSITION, history), message_row(event)]


def _step_for(current: State, to: State, previous: str | None) -> str | None:
    if to in (State.FAILED, State.BLOCKED):
        return STEP_OF[current].value
    if to == State.CANCELLED:
        return previous
    return None
