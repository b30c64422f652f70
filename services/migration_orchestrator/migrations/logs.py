"""A migration's log lines, for support staff: in English and in French."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.guarded import Insertion
from services.migration_orchestrator.migrations.models import MigrationLog, utcnow
from services.migration_orchestrator.migrations.texts_fr import log_fr

_LOG: Table = MigrationLog.__table__  # type: ignore[attr-defined]
# A Core statement built once: a log line is written, never read back in the transaction, so
# it needs no ORM object (whose insert costs several times the statement's own work).
_INSERT = insert(_LOG)


class LineOptions(TypedDict, total=False):
    """What a log line may say besides its message (``log_row``'s keywords)."""

    level: str
    details: dict[str, Any] | None
    message_fr: str | None


async def add_log(
    session: AsyncSession,
    migration_id: int,
    step: str,
    message: str,
    **options: Unpack[LineOptions],
) -> None:
    """A log line (``log_row``), written now in the caller's transaction."""
    line = log_row(migration_id, step, message, **options)
    await session.execute(_INSERT, dict(line.row))


def log_row(
    migration_id: int,
    step: str,
    message: str,
    *,
    level: str = "info",
    details: dict[str, Any] | None = None,
    message_fr: str | None = None,
) -> Insertion:
    """A log line, in English and in French: ``message_fr`` when the caller has it, else the
    catalogue's French of ``message`` (none for a raw Moodle output line). For a move that
    writes it with itself (``transition(..., rows=...)``): written only if the move happens."""
    french = message_fr if message_fr is not None else log_fr(message)
    return Insertion(
        _LOG,
        {
            "migration_id": migration_id,
            "step": step,
            "level": level,
            "message": message[:2000],
            "message_fr": None if french is None else french[:2000],
            "details": details,
            "at": utcnow(),
        },
    )
