"""Writes a ``Dataset`` into a database: COPY on PostgreSQL, executemany on SQLite.

Tables are (re)created without their secondary indexes, filled, then indexed, which is several
times faster than maintaining the indexes row by row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable

from fusion.db import create_engine
from services.apogee_api.apogee_tables import metadata
from sim.apogee.dataset import Dataset, TableRows

SQLITE_CHUNK = 20_000


async def load_dataset(url: str, dataset: Dataset) -> dict[str, int]:
    """Drops and recreates every Apogée table at ``url``, then loads ``dataset`` into it."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            for table in metadata.sorted_tables:
                await connection.execute(CreateTable(table))
            for name, rows in dataset:
                await _load_table(connection, metadata.tables[name], rows)
            for table in metadata.sorted_tables:
                for index in table.indexes:
                    await connection.run_sync(index.create)
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return dataset.counts()


async def _load_table(connection: AsyncConnection, table: Table, rows: TableRows) -> None:
    if not rows.rows:
        return
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(
            table.name, records=rows.rows, columns=list(rows.columns)
        )
        return
    for start in range(0, len(rows.rows), SQLITE_CHUNK):
        chunk = rows.rows[start : start + SQLITE_CHUNK]
        await connection.execute(
            table.insert(), [dict(zip(rows.columns, row, strict=True)) for row in chunk]
        )
