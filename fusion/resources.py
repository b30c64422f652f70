"""Opening and closing what a service's lifespan owns, in reverse order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData

from fusion.db import Database
from fusion.settings import DatabaseFragment


@asynccontextmanager
async def open_database(
    settings: DatabaseFragment, *, metadata: MetaData | None = None
) -> AsyncIterator[Database]:
    database = Database(
        settings.database_url, echo=settings.database_echo, pool_size=settings.database_pool_size
    )
    try:
        if metadata is not None and settings.database_create_tables:
            await database.create_all(metadata)
        yield database
    finally:
        await database.dispose()
