"""A database is served only at the head of its service's Alembic history."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from fusion.alembic_env import upgrade
from fusion.db import Database
from fusion.schema_check import SchemaNotMigrated, check_schema
from fusion.testing.paths import REPO

IDENTITY_HISTORY = REPO / "services" / "identity" / "alembic"


async def _migrate(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, IDENTITY_HISTORY, url, revision)


async def _execute(url: str, statement: str) -> None:
    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            await session.execute(text(statement))
    finally:
        await database.dispose()


async def test_a_database_never_migrated_names_the_command(database_url: str) -> None:
    with pytest.raises(SchemaNotMigrated) as refused:
        await check_schema("identity", database_url, IDENTITY_HISTORY)
    assert refused.value.message == (
        "identity's database has no schema (table alembic_version missing): "
        "run `fusion migrate identity`."
    )
    assert refused.value.message_fr == (
        "La base de données du service identity n'a pas son schéma "
        "(table alembic_version absente) : lancez `fusion migrate identity`."
    )


async def test_a_database_behind_the_newest_revision_is_refused(database_url: str) -> None:
    await _migrate(database_url, "0001")
    with pytest.raises(SchemaNotMigrated, match=r"at revision 0001, behind the newest \("):
        await check_schema("identity", database_url, IDENTITY_HISTORY)


async def test_an_empty_version_table_is_no_schema_either(database_url: str) -> None:
    await _migrate(database_url)
    await _execute(database_url, "DELETE FROM alembic_version")
    with pytest.raises(SchemaNotMigrated, match=r"no schema \(table alembic_version empty\)"):
        await check_schema("identity", database_url, IDENTITY_HISTORY)


async def test_a_database_at_head_is_served(database_url: str) -> None:
    await _migrate(database_url)
    await check_schema("identity", database_url, IDENTITY_HISTORY)


async def test_a_revision_of_a_newer_release_is_let_through_with_a_warning(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _migrate(database_url)
    await _execute(database_url, "UPDATE alembic_version SET version_num = '9999'")
    with caplog.at_level(logging.WARNING, logger="fusion.schema_check"):
        await check_schema("identity", database_url, IDENTITY_HISTORY)
    assert "at revision 9999, which this release does not know" in caplog.text


async def test_a_database_that_does_not_answer_is_left_to_the_outage_handling() -> None:
    # the service starts and waits for it (readiness 503), as for any outage
    url = "postgresql+asyncpg://postgres:a-password@127.0.0.1:1/none"
    await check_schema("identity", url, IDENTITY_HISTORY)
