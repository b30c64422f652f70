"""Which failures are an outage (503, one log line) and which are a bug (500, a traceback)."""

from __future__ import annotations

from pathlib import Path

import asyncpg.exceptions as pg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import fusion.db
from fusion.db import Database
from fusion.errors import install_error_handlers
from fusion.outage import failure_kind
from fusion.testing.clients import asgi_client
from fusion.testing.plugin import NewDatabase
from fusion.testing.postgres import through_port
from fusion.testing.rabbit import TcpProxy


async def _failure(url: str, statement: str) -> BaseException:
    database = Database(url)
    try:
        async with database.session() as session:
            await session.execute(text(statement))
    except Exception as error:
        return error
    finally:
        await database.dispose()
    raise AssertionError(f"{statement!r} succeeded")


async def test_a_missing_sqlite_table_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'here.db'}"
    assert failure_kind(await _failure(url, "SELECT * FROM nowhere")) is None
    assert failure_kind(await _failure(url, "SELEC 1")) is None


async def test_an_unreachable_sqlite_file_is_an_outage(tmp_path: Path) -> None:
    (tmp_path / "a-directory").mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'a-directory'}"  # a file SQLite cannot open
    assert failure_kind(await _failure(url, "SELECT 1")) == "database"


async def test_a_missing_table_answers_500_in_the_envelope(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'here.db'}"
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/probe")
    async def probe() -> None:
        raise await _failure(url, "SELECT * FROM nowhere")

    async with asgi_client(app) as client:
        answer = await client.get("/probe")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"


@pytest.mark.postgres
async def test_a_postgresql_that_closes_its_connections_is_an_outage(
    new_pg_database: NewDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection fails its ping; the new one the pool makes for it is closed while
    being made (a server going away, a proxy cut): both are the database being away."""
    monkeypatch.setattr(fusion.db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout pings
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    database = Database(through_port(await new_pg_database("kinds"), proxy.port))
    try:
        await database.ping()  # a connection in the pool
        proxy.cut()  # connections are accepted, then closed
        for _ in range(2):
            with pytest.raises((ConnectionError, DBAPIError)) as failed:
                await database.ping()
            assert failure_kind(failed.value) == "database", repr(failed.value)
    finally:
        await database.dispose()
        await proxy.close()


@pytest.mark.postgres
async def test_a_session_terminated_by_the_server_is_an_outage(
    new_pg_database: NewDatabase,
) -> None:
    url = await new_pg_database("kinds")
    statement = "SELECT pg_terminate_backend(pg_backend_pid())"  # 57P01, as in a restart
    assert failure_kind(await _failure(url, statement)) == "database"


def _through_sqlalchemy(orig: Exception) -> DBAPIError:
    """``orig`` as SQLAlchemy hands a driver error on: a DBAPIError caused by it, not marked
    as a disconnect (as when the pool's new connection is closed while being made)."""
    try:
        try:
            raise orig
        except Exception as error:
            raise DBAPIError("SELECT 1", None, Exception(str(error))) from error
    except DBAPIError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("orig", "kind"),
    [
        (
            pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            "database",
        ),
        (pg.AdminShutdownError("terminating connection due to administrator command"), "database"),
        (pg.CannotConnectNowError("the database system is starting up"), "database"),
        (pg.QueryCanceledError("canceling statement due to statement timeout"), None),
        (pg.UniqueViolationError("duplicate key value violates unique constraint"), None),
    ],
    ids=["closed-while-connecting", "server-shutdown", "server-starting", "cancelled", "bug"],
)
def test_asyncpg_errors_that_say_the_server_is_away_are_an_outage(
    orig: Exception, kind: str | None
) -> None:
    assert failure_kind(_through_sqlalchemy(orig)) == kind
