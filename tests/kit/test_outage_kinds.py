"""Which failures are an outage (503, one log line) and which are a bug (500, a traceback)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from fusion.db import Database
from fusion.errors import install_error_handlers
from fusion.outage import failure_kind
from fusion.testing.clients import asgi_client


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
