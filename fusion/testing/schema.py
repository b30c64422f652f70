"""Does a database built by a service's Alembic history hold exactly what its models declare?"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from fusion.db import Database


def _differences(connection: Connection, metadata: MetaData) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def schema_differences(url: str, metadata: MetaData) -> tuple[set[str], list[object]]:
    """(the tables of the database at ``url`` besides Alembic's own, what Alembic's
    autogenerate would still change to reach ``metadata``: [] when they match)."""
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            differences = await connection.run_sync(_differences, metadata)
    finally:
        await db.dispose()
    return tables, differences


async def assert_schema_matches(url: str, metadata: MetaData) -> None:
    tables, differences = await schema_differences(url, metadata)
    assert tables == set(metadata.tables)
    assert differences == []
