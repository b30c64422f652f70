"""Lifecycles: states in a ``StrEnum``, the moves allowed between them, and one way to move.

    RUN_LIFECYCLE = Lifecycle(
        transitions={RunStatus.PLANNING: {RunStatus.APPLYING, ...}, ...},
        failed=RunStatus.FAILED,
        history=history,                     # history_table(metadata, "sync_run_history")
        event=lambda run, previous, cause: SyncRunStateChanged(...),
        max_attempts=3,
    )
    await RUN_LIFECYCLE.transition(uow, run, RunStatus.APPLYING, cause="planned")

``transition`` refuses a move the table does not allow (``IllegalTransition``, a 409), and in
the caller's unit of work sets the state, writes a history row and publishes the event, so the
three are committed together or not at all. ``attempt_failed`` counts a failed attempt and,
at ``max_attempts``, moves the entity to the terminal ``failed`` state with the reason: work
that keeps breaking for a reason Fusion does not know stops being retried.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from fusion.bus.tables import UtcDateTime
from fusion.contracts import Message
from fusion.errors import Conflict
from fusion.unit_of_work import UnitOfWork

__all__ = ["IllegalTransition", "Lifecycle", "history_table"]

St = TypeVar("St", bound=StrEnum)
CAUSE_LENGTH = 500


class IllegalTransition(Conflict):
    code = "illegal_transition"


def history_table(metadata: MetaData, name: str) -> Table:
    """Every move of every entity of one kind: who moved, from where, to where, why."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("entity_id", String(64), nullable=False, index=True),
        Column("from_state", String(30), nullable=True),
        Column("to_state", String(30), nullable=False),
        Column("cause", String(CAUSE_LENGTH), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("at", UtcDateTime(), nullable=False),
    )


class Lifecycle(Generic[St]):
    """The lifecycle of entities whose state is in attribute ``field`` (and ``attempts``)."""

    def __init__(
        self,
        *,
        transitions: Mapping[St, Collection[St]],
        failed: St,
        history: Table,
        event: Callable[[Any, St | None, str], Message],
        max_attempts: int = 3,
        field: str = "status",
    ) -> None:
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}
        self.failed = failed
        self.max_attempts = max_attempts
        self._history = history
        self._event = event
        self._field = field
        self._states = type(failed)

    def state_of(self, entity: Any) -> St:
        return self._states(getattr(entity, self._field))

    def allows(self, current: St, to: St) -> bool:
        return to in self.transitions.get(current, frozenset())

    def is_terminal(self, state: St) -> bool:
        return not self.transitions.get(state)

    async def transition(self, uow: UnitOfWork, entity: Any, to: St, *, cause: str) -> None:
        current = self.state_of(entity)
        if not self.allows(current, to):
            raise IllegalTransition(
                f"Cannot go from {current} to {to}.",
                message_fr=f"Passage de « {current} » à « {to} » impossible.",
                details={"from": str(current), "to": str(to)},
            )
        await self._record(uow, entity, current, to, cause)

    async def enter(self, uow: UnitOfWork, entity: Any, *, cause: str) -> None:
        """Record the first state of a new (flushed) entity."""
        await self._record(uow, entity, None, self.state_of(entity), cause)

    async def attempt_failed(self, uow: UnitOfWork, entity: Any, *, cause: str) -> str | None:
        """Count one failed attempt; after the last one the entity is ``failed`` and the reason
        is returned (``None`` while attempts remain)."""
        entity.attempts = (entity.attempts or 0) + 1
        if entity.attempts < self.max_attempts:
            return None
        reason = f"gave up after {entity.attempts} attempts: {cause}"
        await self.transition(uow, entity, self.failed, cause=reason)
        return reason

    async def _record(
        self, uow: UnitOfWork, entity: Any, current: St | None, to: St, cause: str
    ) -> None:
        setattr(entity, self._field, to)
        cause = cause[:CAUSE_LENGTH]
        await uow.session.execute(
            insert(self._history).values(
                entity_id=str(entity.id),
                from_state=None if current is None else str(current),
                to_state=str(to),
                cause=cause,
                attempts=entity.attempts or 0,
                at=datetime.now(UTC),
            )
        )
        await uow.publish(self._event(entity, current, cause))
