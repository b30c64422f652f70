"""A migration's log lines, for support staff: in English and in French."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.guarded import Insertion
from services.migration_orchestrator.migrations.models import MigrationLog, utcnow
from services.migration_orchestrator.migrations.texts_fr import log_fr

_LOG: Table = MigrationLog.__table__  # type: ignore[attr-defined]
# A Core statement built once: a log line is written, never read back in the transaction, so
# it needs no ORM object (whose insert costs several times the statement's own work).
_INSERT = insert(_LOG)


async def add_log(
    session: AsyncSession,
    migration_id: int,
    step: str,
    message: str,
    *,
    level: str = "info",
    details: dict[str, Any] | None = None,
    message_fr: str | None = None,
) -> None:
    """A log line, in English and in French: ``message_fr`` when the caller has it, else the
    catalogue's French of ``message`` (none for a raw Moodle output line)."""
    line = log_row(migration_id, step, message, level=level, details=details, message_fr=message_fr)
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
    """The log line ``add_log`` writes, for a move that writes it with itself
    (``transition(..., rows=...)``): it is written only if the move happens."""
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
