"""``members:bulk`` beyond the basics of ``test_rosters.py``: ETag short-cuts, chunking, batching
of IN lists, duplicates dropped in Python, and a stream closed early."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Collection
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from fusion.db import Database, create_engine
from fusion.testing.clients import asgi_client
from services.apogee_api import bulk, queries
from services.apogee_api.app import create_app
from services.apogee_api.store import CatalogueStore

from .conftest import AUTH, settings_for
from .tiny import VET, YEAR

V1 = "/apogee/v1"
CODES = ["UEMATH1", "NOPE", VET, "UECLOSE", "UEMATH1TD1", "LMATH1S1", "UEOPEN2"]


async def _lines(client: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    response = await client.post(f"{V1}/members:bulk", json=body)
    assert response.status_code == 200
    return [json.loads(line) for line in response.text.splitlines()]


async def _etags(client: httpx.AsyncClient, codes: list[str]) -> dict[str, str]:
    return {
        line["code"]: line["etag"] for line in await _lines(client, codes=codes) if "etag" in line
    }


async def test_not_modified_lines_never_carry_members_or_groups(api: httpx.AsyncClient) -> None:
    etags = await _etags(api, CODES)
    lines = await _lines(api, codes=CODES, if_none_match=etags)
    assert [line["status"] for line in lines] == [
        "not_modified",
        "unknown",
        "not_modified",
        "not_modified",
        "not_modified",
        "not_modified",
        "not_modified",
    ]
    for line in lines:
        if line["status"] == "not_modified":
            assert set(line) == {"code", "status", "kind", "etag"}
            assert line["etag"] == etags[line["code"]]


async def test_quoted_etags_match_too(api: httpx.AsyncClient) -> None:
    etags = await _etags(api, ["UEMATH1"])
    lines = await _lines(api, codes=["UEMATH1"], if_none_match={"UEMATH1": f'"{etags["UEMATH1"]}"'})
    assert lines[0]["status"] == "not_modified"


async def test_all_not_modified_reads_no_names(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    etags = await _etags(api, CODES)
    asked: list[Collection[str]] = []
    real = queries.fetch_people

    async def counting(connection: Any, cod_etus: Collection[str]) -> Any:
        asked.append(set(cod_etus))
        return await real(connection, cod_etus)

    monkeypatch.setattr(bulk, "fetch_people", counting)
    await _lines(api, codes=CODES, if_none_match=etags)
    assert asked == []
    await _lines(api, codes=CODES, if_none_match={**etags, "UEOPEN2": "stale"})
    assert asked == [{"21900004"}]  # only Noé, the one member of the changed code


async def test_each_requested_spelling_gets_its_own_answer(api: httpx.AsyncClient) -> None:
    etags = await _etags(api, ["UEMATH1"])
    first, second = await _lines(
        api, codes=["UEMATH1", "uemath1"], if_none_match={"UEMATH1": etags["UEMATH1"]}
    )
    assert (first["code"], first["status"]) == ("UEMATH1", "not_modified")
    assert (second["code"], second["status"]) == ("uemath1", "ok")
    assert second["etag"] == etags["UEMATH1"]
    assert [m["cod_etu"] for m in second["members"]] == ["21900001", "21900002"]


async def test_one_code_per_chunk_and_one_key_per_in_list_answer_the_same(
    api: httpx.AsyncClient, tiny_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = await _lines(api, codes=CODES)
    monkeypatch.setattr(queries, "IN_LIMIT", 1)
    async with asgi_client(create_app(settings_for(tiny_url, bulk_chunk_size=1))) as client:
        client.headers.update(AUTH)
        assert await _lines(client, codes=CODES) == expected


async def test_students_counted_twice_by_apogee_are_listed_once(
    api: httpx.AsyncClient, tiny_url: str
) -> None:
    before = await _lines(api, codes=["UEMATH1", VET])
    # Léa gets a second IA occurrence in her VET, and follows UEMATH1 through a second VET.
    engine = create_engine(tiny_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(queries.ia),
                [
                    {
                        "cod_anu": str(YEAR),
                        "cod_ind": 1,
                        "cod_etp": "LMATH",
                        "cod_vrs_vet": 1,
                        "num_occ_iae": 2,
                        "eta_iae": "E",
                        "eta_pmt_iae": "P",
                        "tem_iae_prm": "N",
                    },
                    {
                        "cod_anu": str(YEAR),
                        "cod_ind": 1,
                        "cod_etp": "OLDVET",
                        "cod_vrs_vet": 1,
                        "num_occ_iae": 1,
                        "eta_iae": "E",
                        "eta_pmt_iae": "P",
                        "tem_iae_prm": "N",
                    },
                ],
            )
            await connection.execute(
                insert(queries.contract).values(
                    cod_anu=str(YEAR),
                    cod_ind=1,
                    cod_etp="OLDVET",
                    cod_vrs_vet=1,
                    cod_elp="UEMATH1",
                    cod_lse="LST1",
                    tem_prc_ice="N",
                )
            )
    finally:
        await engine.dispose()
    after = await _lines(api, codes=["UEMATH1", VET])
    assert after == before


async def test_closing_the_stream_early_stops_the_reads_ahead(
    tiny_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(tiny_url)
    store = CatalogueStore(database=database, payment_states=("P", "A"))
    running: set[int] = set()
    real = bulk._read_chunk

    async def tracked(database: Database, read: bulk.BulkRead, codes: Any) -> Any:
        running.add(id(codes))
        try:
            if list(codes) != CODES[:1]:
                await asyncio.Event().wait()  # the reads ahead never end unless cancelled
            return await real(database, read, codes)
        finally:
            running.discard(id(codes))

    monkeypatch.setattr(bulk, "_read_chunk", tracked)
    try:
        await store.refresh()
        lines = bulk.bulk_lines(
            database,
            store.snapshot.catalogue,
            CODES,
            year=YEAR,
            if_none_match={},
            with_groups=True,
            payment_states=("P", "A"),
            chunk_size=1,
        )
        first = await anext(lines)
        assert json.loads(first)["code"] == "UEMATH1"
        assert len(running) == bulk.READ_AHEAD - 1
        await lines.aclose()
        assert running == set()
    finally:
        await database.dispose()


async def test_the_catalogue_is_kept_out_of_the_garbage_collectors_way(tiny_url: str) -> None:
    database = Database(tiny_url)
    try:
        gc.unfreeze()  # earlier tests' apps froze the heap already
        await CatalogueStore(database=database, payment_states=("P",)).refresh()
        assert gc.get_freeze_count() > 0
    finally:
        await database.dispose()
