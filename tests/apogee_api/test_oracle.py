"""Every statement apogee_api runs, compiled for Oracle (Apogée's database): IN lists of at most
1,000 items (ORA-01795), no LIMIT, bind names Oracle accepts; ``oracle+oracledb://`` URLs work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Table, event
from sqlalchemy.dialects import oracle
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ClauseElement, visitors
from sqlalchemy.sql.elements import BindParameter

from fusion.db import Database
from fusion.testing.clients import asgi_client
from services.apogee_api.app import create_app
from services.apogee_api.catalogue import CodeEntry
from services.apogee_api.queries import IN_LIMIT, Filters, fetch_people, fetch_rosters
from services.apogee_api.settings import Settings
from sim.apogee.load import load_dataset

from .conftest import AUTH, settings_for
from .tiny import VET, YEAR, tiny_apogee

ORACLE = oracle.dialect()
# Oracle's unquoted identifier rule for a bind name (30 bytes covers Apogée's 12c and older).
BIND_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_$#]{0,29}$")
MANY = 2 * IN_LIMIT + 500


@contextmanager
def captured() -> Iterator[list[ClauseElement]]:
    statements: list[ClauseElement] = []

    def record(_conn: Any, clause: Any, *_: Any) -> None:
        if isinstance(clause, ClauseElement):
            statements.append(clause)

    event.listen(Engine, "before_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_execute", record)


async def _every_route(url: str) -> None:
    async with asgi_client(create_app(settings_for(url))) as client:
        client.headers.update(AUTH)
        v1 = "/apogee/v1"
        for path in (
            "/years/current",
            "/codes?q=analyse",
            f"/codes/{VET}",
            f"/codes/{VET}/members",
            "/codes/UEMATH1/members",
            "/codes/UEMATH1TD1/members",
            f"/codes/{VET}/groups",
            "/students/21900001",
        ):
            assert (await client.get(v1 + path)).status_code == 200, path
        codes = ["UEMATH1", VET, "UEMATH1TD1", "LMATH1S1", "UEOPEN2"]
        assert (await client.post(f"{v1}/codes:validate", json={"codes": codes})).status_code == 200
        bulk = await client.post(f"{v1}/members:bulk", json={"year": YEAR, "codes": codes})
        assert bulk.status_code == 200


async def _many_keys(url: str) -> None:
    """More codes and students than one IN list may hold, of every kind of key."""
    entries = [
        *(CodeEntry(f"V{n}", "vet", "v", cod_etp=f"E{n}", cod_vrs_vet=1) for n in range(MANY)),
        *(CodeEntry(f"E{n}", "elp", "e", cod_elp=f"ELP{n}") for n in range(MANY)),
        *(CodeEntry(f"G{n}", "group", "g", cod_gpe=n) for n in range(MANY)),
    ]
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await fetch_rosters(connection, entries, Filters(YEAR, ("P", "A")))
            await fetch_people(connection, {str(21900000 + n) for n in range(MANY)})
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def statements(tmp_path_factory: pytest.TempPathFactory) -> list[ClauseElement]:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('oracle') / 'apogee.db'}"

    async def exercise() -> list[ClauseElement]:
        await load_dataset(url, tiny_apogee())
        with captured() as seen:
            await _every_route(url)
            await _many_keys(url)
        return seen

    return asyncio.run(exercise())


def _expanding_sizes(statement: ClauseElement) -> list[int]:
    return [
        len(node.value or ())
        for node in visitors.iterate(statement)
        if isinstance(node, BindParameter) and node.expanding
    ]


def test_the_service_s_statements_were_captured(statements: list[ClauseElement]) -> None:
    tables = {n.name for s in statements for n in visitors.iterate(s) if isinstance(n, Table)}
    assert len(statements) > 20
    assert {"individu", "ins_adm_etp", "ind_contrat_elp", "ind_affecte_gpe"} <= tables


def test_every_statement_compiles_for_oracle(statements: list[ClauseElement]) -> None:
    bound = 0
    for statement in statements:
        sql = str(statement.compile(dialect=ORACLE, compile_kwargs={"render_postcompile": True}))
        assert not re.search(r"\bLIMIT\b", sql, re.IGNORECASE), sql[:300]
        binds = re.findall(r":(\"?[^\s,)]+)", sql)
        assert [name for name in binds if not BIND_NAME.match(name)] == [], sql[:300]
        bound += len(binds)
    assert bound > MANY  # the filters are bound parameters, never inlined values


def test_no_in_list_exceeds_oracle_s_limit(statements: list[ClauseElement]) -> None:
    sizes = [size for statement in statements for size in _expanding_sizes(statement)]
    assert max(sizes) == IN_LIMIT  # the big reads were split, at the limit
    assert all(size <= IN_LIMIT for size in sizes)


def test_oracle_urls_are_accepted() -> None:
    url = "oracle+oracledb://fusion_ro:secret@127.0.0.1:1521/?service_name=APOPROD"
    settings = Settings(environment="test", database_url=url)
    database = Database(settings.database_url.get_secret_value())
    assert database.engine.dialect.name == "oracle"
    assert database.engine.dialect.driver == "oracledb"
    assert "secret" not in repr(settings)
    import oracledb

    assert oracledb.is_thin_mode()  # no Oracle client libraries needed


def test_the_account_set_up_grants_exactly_the_tables_read() -> None:
    from fusion.testing.paths import REPO
    from services.apogee_api.apogee_tables import metadata

    doc = (REPO / "docs" / "apogee-account.md").read_text(encoding="utf-8")
    granted = set(re.findall(r"GRANT SELECT ON apogee\.(\w+)", doc))
    assert granted == set(metadata.tables)
