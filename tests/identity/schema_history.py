"""Does ``fusion migrate SERVICE`` build exactly the tables a service's models declare?

A helper any service's test can call (identity's is ``test_migrations.py``): it runs the real
command on a fresh database, then compares what is there with the MetaData — table names, and
Alembic's own comparison of columns, types, indexes and constraints.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from fusion.db import Database

ALEMBIC_TABLE = "alembic_version"


@dataclass(frozen=True)
class SchemaAfterMigrate:
    exit_code: int
    tables: frozenset[str]  # what the database holds, Alembic's bookkeeping table aside
    declared: frozenset[str]  # what the MetaData declares
    differences: list[object]  # Alembic's autogenerate diff: empty when they agree


async def migrate_and_compare(service: str, url: str, metadata: MetaData) -> SchemaAfterMigrate:
    from launcher.cli import main  # the command as an operator runs it

    # Alembic's env runs its own event loop: keep it off this one
    code = await asyncio.to_thread(main, ["migrate", service, "--database-url", url])
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            tables, differences = await connection.run_sync(_inspect, metadata)
    finally:
        await database.dispose()
    return SchemaAfterMigrate(
        exit_code=code,
        tables=frozenset(tables - {ALEMBIC_TABLE}),
        declared=frozenset(metadata.tables),
        differences=differences,
    )


def _inspect(connection: Connection, metadata: MetaData) -> tuple[set[str], list[object]]:
    tables = set(inspect(connection).get_table_names())
    differences = list(compare_metadata(MigrationContext.configure(connection), metadata))
    return tables, differences
