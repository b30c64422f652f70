"""Nothing of a service touches its tables before its schema is known to be at head.

``fusion serve`` reads the schema before it starts (``fusion.schema_check``), but only a
database that answers then. A service started while its database is away waits for it; when it
answers, this gate reads the schema before the startup work, the relay, the consumers and the
background tasks start, so a database that came up without its schema is one message naming
``fusion migrate SERVICE`` and ``/readyz`` 503 (``schema``), not a traceback from each loop.

A service that finds its schema missing stays up, unready, and reads it again every second: it
starts by itself once ``fusion migrate`` has run. Exiting instead would turn the wait into
restarts: a Kubernetes pod in CrashLoopBackOff (its back-off growing to five minutes, so it
starts late after the migration job), a systemd unit that hits its start limit and stays
failed until someone restarts it by hand. Waiting unready is what the service already does for
its database and its broker, and what an orchestrator reads: not ready, the reason in
``/readyz``, the line in the log. Started on a database that answers, ``fusion serve`` still
refuses at once (exit 1): there the operator is looking.

A one-shot command (``fusion sync run``...) is refused at once instead (``SchemaNotMigrated``,
exit 1): nobody is waiting for it to become ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fusion.db import Database
from fusion.errors import DependencyUnavailable
from fusion.outage import OutageLog, is_outage
from fusion.pending import RETRY_SECONDS
from fusion.tasks import StopSignal

if TYPE_CHECKING:
    from fusion.schema_check import SchemaNotMigrated

__all__ = ["Schema", "SchemaGate", "SchemaUnread"]

logger = logging.getLogger(__name__)

# A database that does not answer within this is away: the service waits, the command goes on.
READ_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Schema:
    """What ``fusion migrate SERVICE`` brings a service's database to: its Alembic history."""

    service: str
    migrations: Path


class SchemaUnread(DependencyUnavailable):
    """The database has not answered yet: its schema is not known (readiness only)."""

    code = "schema_unread"


class SchemaGate:
    def __init__(self, schema: Schema, database: Database, outages: OutageLog) -> None:
        self._schema = schema
        self._database = database
        self._outages = outages
        self._problem: SchemaNotMigrated | None = None
        self._at_head = False

    async def problem(self) -> SchemaNotMigrated | None:
        """Why the database is not at head, or None; the driver's error when it is away."""
        # alembic is imported only where a schema is read: importing it logs and takes 0.3 s
        from fusion.schema_check import schema_problem

        async with asyncio.timeout(READ_TIMEOUT_SECONDS), self._database.engine.connect() as c:
            return await schema_problem(self._schema.service, c, self._schema.migrations)

    async def refuse(self) -> None:
        """Raise ``SchemaNotMigrated`` unless at head; a database away is left to the
        command's own first query, which reports it."""
        try:
            problem = await self.problem()
        except Exception as error:
            if not is_outage(error):
                raise
            return
        if problem is not None:
            raise problem

    async def passes(self) -> bool:
        """Read the schema once: True at head; the first time it is missing, say so."""
        try:
            problem = await self.problem()
        except Exception as error:  # away: one line a minute; anything else: its traceback once
            self._outages.failed("schema check", error)
            return False
        self._outages.recovered("schema check")
        if problem is None:
            if self._problem is not None:
                logger.info("%s's database schema is at head now: starting", self._schema.service)
            self._problem, self._at_head = None, True
            return True
        if self._problem is None or self._problem.message != problem.message:
            logger.error("%s\n%s", problem.message_fr, problem.message)
        self._problem = problem
        return False

    async def readiness(self) -> None:
        if self._at_head:
            return
        if (problem := self._problem) is not None:  # a new one: a raised error keeps its frames
            raise type(problem)(problem.message, message_fr=problem.message_fr)
        raise SchemaUnread(
            f"{self._schema.service}'s database has not answered: its schema is not read yet",
            message_fr=f"La base de données du service {self._schema.service} n'a pas répondu : "
            "son schéma n'est pas encore lu",
        )

    def then(self, start: Callable[[], Awaitable[None]]) -> Callable[[StopSignal], Awaitable[None]]:
        """A background task: read the schema every second until it is at head, then start."""

        async def wait(stop: StopSignal) -> None:
            while not await stop.sleep(RETRY_SECONDS):
                if await self.passes():
                    await start()
                    return

        return wait
