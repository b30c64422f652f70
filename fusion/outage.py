"""One log line per kind of failure per interval, instead of a traceback per attempt.

While PostgreSQL or the broker is away, every request, relay pass and background loop fails
the same way, many times a second. ``OutageLog`` writes the first failure of a kind, then at
most one line per ``interval`` saying how many more there were, and one line when it recovers.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg.exceptions
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from fusion.bus import BusUnavailable

__all__ = ["OutageLog", "failure_kind", "is_outage"]

logger = logging.getLogger("fusion.outage")

# What a vanished database raises, through SQLAlchemy or straight from the driver.
_DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    ConnectionError,
    OSError,
    # asyncpg's own: SQLSTATE class 08 (the connection closed, even while it was being made),
    # and the server shutting down or still starting (57P01-57P03), as in a restart
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
# SQLite reports a missing table or a syntax error as an OperationalError too: those are bugs.
# Only these messages say the database file is away or busy.
_SQLITE_AWAY = ("database is locked", "unable to open database file", "disk i/o error")


def failure_kind(error: BaseException) -> str | None:
    """``database`` or ``broker`` for an outage, ``None`` for anything else (a bug)."""
    if isinstance(error, BusUnavailable):
        return "broker"
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return "database"
    if isinstance(error, OperationalError) and isinstance(error.orig, sqlite3.Error):
        message = str(error.orig).lower()
        return "database" if any(away in message for away in _SQLITE_AWAY) else None
    if isinstance(error, _DATABASE_DOWN):
        return "database"
    cause = error.__cause__ or error.__context__
    return failure_kind(cause) if cause is not None and cause is not error else None


def is_outage(error: BaseException) -> bool:
    return failure_kind(error) is not None


@dataclass
class _Streak:
    first_logged: float
    suppressed: int = 0


class OutageLog:
    def __init__(
        self,
        *,
        interval_seconds: float = 60.0,
        log: logging.Logger = logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval_seconds
        self._log = log
        self._clock = clock
        self._streaks: dict[str, _Streak] = {}

    def failed(self, what: str, error: BaseException) -> None:
        """Record a failure of ``what`` (``outbox relay: database``...)."""
        kind = failure_kind(error)
        key = f"{what}: {kind or type(error).__name__}"
        streak, now = self._streaks.get(key), self._clock()
        if streak is None or now - streak.first_logged >= self._interval:
            more = f" ({streak.suppressed} more since)" if streak and streak.suppressed else ""
            detail = f"{type(error).__name__}: {str(error)[:200]}"
            if kind is None and streak is None:
                self._log.error("%s failed%s: %s", key, more, detail, exc_info=error)
            else:
                self._log.warning("%s failed%s: %s", key, more, detail)
            self._streaks[key] = _Streak(first_logged=now)
        else:
            streak.suppressed += 1

    def recovered(self, what: str) -> None:
        for key in [key for key in self._streaks if key.startswith(f"{what}: ")]:
            del self._streaks[key]
            self._log.info("%s works again", key)
