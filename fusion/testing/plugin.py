"""The pytest plugin every test tree loads: ``pytest_plugins = ["fusion.testing.plugin"]``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from fusion.testing.ldap import slapd  # a fixture: a real slapd on loopback
from fusion.testing.postgres import PgDatabases

NewDatabase = Callable[..., Awaitable[str]]
__all__ = ["slapd"]


@pytest.fixture(scope="session")
async def new_pg_database() -> AsyncIterator[NewDatabase]:
    """``url = await new_pg_database()``: a fresh empty PostgreSQL database for this session."""
    databases = PgDatabases()
    yield databases.create
    await databases.drop_all()


@pytest.fixture(params=["postgres", "sqlite"])
async def database_url(
    request: pytest.FixtureRequest,
    new_pg_database: NewDatabase,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The same test on the real PostgreSQL and on SQLite: an empty database of each kind."""
    if request.param == "postgres":
        return await new_pg_database()
    path = tmp_path_factory.mktemp("sqlite") / "test.db"
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
async def pg_run_database(new_pg_database: NewDatabase) -> str:
    """One PostgreSQL database for the whole run; pair it with ``rollback_session``."""
    return await new_pg_database("run")


@asynccontextmanager
async def rollback_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose commits become savepoints of one outer transaction rolled back at the end,
    so a test on the shared run database leaves nothing behind."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()
