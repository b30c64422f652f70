"""A service refuses to start on a database that ``fusion migrate`` has not brought to head.

Production builds each service's schema with its Alembic history, as a step before the service
starts. Started on a database where that step never ran, or on one left behind by an upgrade, a
service would stop at its first query with the driver's traceback. ``fusion serve`` reads the
Alembic version table first and stops with one message, French then English, that names the
command to run and never the database's address.

A revision this release does not know (a newer release migrated the database) is let through
with a warning: an older release reads a newer schema during a rolling upgrade.

The one-shot commands and a service that started while its database was away read it through
``schema_problem``, on their own engine (``fusion.schema_gate``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import String, column, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from fusion.alembic_env import alembic_config
from fusion.db import create_engine
from fusion.errors import FusionError

__all__ = ["SchemaNotMigrated", "check_schema", "schema_problem"]

logger = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"
# A database that does not answer within this is not checked: the service waits for it.
CHECK_TIMEOUT_SECONDS = 10.0


class SchemaNotMigrated(FusionError):
    """The database has no schema, or an older one: ``fusion migrate SERVICE`` (exit code 1)."""

    status_code = 503
    code = "schema_not_migrated"


async def check_schema(service: str, url: str, script_location: Path) -> None:
    """Raise ``SchemaNotMigrated`` unless the database at ``url`` is at the newest revision of
    the history in ``script_location``. A database that cannot be read is not checked: the
    service starts, waits for it and reports it as it does any outage."""
    engine = create_engine(url)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as connection:
            problem = await schema_problem(service, connection, script_location)
    except (OSError, SQLAlchemyError, TimeoutError):
        return
    finally:
        await engine.dispose()
    if problem is not None:
        raise problem


async def schema_problem(
    service: str, connection: AsyncConnection, script_location: Path
) -> SchemaNotMigrated | None:
    """Why the database on ``connection`` is not at the head of ``script_location``, or None;
    the driver's own error when it cannot be read."""
    found = await connection.run_sync(_revisions)
    script = ScriptDirectory.from_config(alembic_config(script_location, ""))
    return _problem(service, found, script)


def _revisions(connection: Connection) -> tuple[str, ...] | None:
    """The revisions the database is at; None without a version table. Read directly, not
    through alembic's MigrationContext, which logs two lines each time (a waiting service
    reads them every second)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = select(column("version_num", String)).select_from(table(VERSION_TABLE))
    return tuple(connection.execute(versions).scalars())


def _problem(
    service: str, found: tuple[str, ...] | None, script: ScriptDirectory
) -> SchemaNotMigrated | None:
    run = f"`fusion migrate {service}`"
    if not found:
        state_en, state_fr = ("missing", "absente") if found is None else ("empty", "vide")
        return SchemaNotMigrated(
            f"{service}'s database has no schema (table {VERSION_TABLE} {state_en}): run {run}.",
            message_fr=f"La base de données du service {service} n'a pas son schéma "
            f"(table {VERSION_TABLE} {state_fr}) : lancez {run}.",
        )
    heads = set(script.get_heads())
    if set(found) == heads:
        return None
    at, newest = ", ".join(sorted(found)), ", ".join(sorted(heads))
    if not all(_known(script, revision) for revision in found):
        logger.warning(
            "%s's database is at revision %s, which this release does not know (its newest is "
            "%s): a newer release migrated it",
            service,
            at,
            newest,
        )
        return None
    return SchemaNotMigrated(
        f"{service}'s database is at revision {at}, behind the newest ({newest}): run {run}.",
        message_fr=f"La base de données du service {service} est à la révision {at}, en retard "
        f"sur la plus récente ({newest}) : lancez {run}.",
    )


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:  # alembic's ResolutionError for a revision of no file here
        return False
