"""The pytest plugin every test tree loads: ``pytest_plugins = ["fusion.testing.plugin"]``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from fusion.testing.postgres import PgDatabases

NewDatabase = Callable[..., Awaitable[str]]


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
