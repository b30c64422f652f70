from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import update

from fusion.db import create_engine
from fusion.testing.clients import asgi_client
from services.apogee_api.apogee_tables import individu, ins_adm_etp
from services.apogee_api.app import create_app

from .conftest import AUTH, settings_for
from .tiny import VET, YEAR

V1 = "/apogee/v1"


async def _set(url: str, statement: Any) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(statement)
    finally:
        await engine.dispose()


def _lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines()]


async def test_elp_members_are_live_followed_contracts(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{V1}/codes/UEMATH1/members")).json()
    assert body["members"] == [
        {"cod_etu": "21900001", "last_name": "DUPONT", "first_name": "Léa", "ine": "0123456789K"},
        {"cod_etu": "21900002", "last_name": "MARTIN", "first_name": "Hugo", "ine": None},
    ]


async def test_payment_states_are_configurable(tiny_url: str) -> None:
    async with asgi_client(create_app(settings_for(tiny_url, payment_states=("P",)))) as client:
        body = (await client.get(f"{V1}/codes/UEMATH1/members", headers=AUTH)).json()
    assert [m["cod_etu"] for m in body["members"]] == ["21900001"]  # Hugo has not paid


async def test_unchanged_roster_answers_304_and_a_leaver_changes_the_etag(
    api: httpx.AsyncClient, tiny_url: str
) -> None:
    first = await api.get(f"{V1}/codes/{VET}/members")
    etag = first.headers["etag"]
    assert first.json()["etag"] == etag.strip('"')
    again = await api.get(f"{V1}/codes/{VET}/members", headers={"If-None-Match": etag})
    assert (again.status_code, again.headers["etag"], again.content) == (304, etag, b"")
    # A new name is not a membership change; Hugo's IA being cancelled is.
    await _set(
        tiny_url, update(individu).where(individu.c.cod_ind == 1).values(lib_pr1_ind="Léane")
    )
    renamed = await api.get(f"{V1}/codes/{VET}/members", headers={"If-None-Match": etag})
    assert renamed.status_code == 304
    await _set(tiny_url, update(ins_adm_etp).where(ins_adm_etp.c.cod_ind == 2).values(eta_iae="A"))
    after = await api.get(f"{V1}/codes/{VET}/members", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert [m["cod_etu"] for m in after.json()["members"]] == ["21900001", "21900004"]


async def test_bulk_streams_one_line_per_code_in_request_order(api: httpx.AsyncClient) -> None:
    codes = ["UEMATH1", "NOPE", VET, "UECLOSE", "UEMATH1TD1"]
    response = await api.post(f"{V1}/members:bulk", json={"year": YEAR, "codes": codes})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = _lines(response)
    assert [(line["code"], line["status"]) for line in lines] == [
        ("UEMATH1", "ok"),
        ("NOPE", "unknown"),
        (VET, "ok"),
        ("UECLOSE", "closed"),
        ("UEMATH1TD1", "ok"),
    ]
    elp, _, vet, _, group = lines
    assert [m["cod_etu"] for m in elp["members"]] == ["21900001", "21900002"]
    assert elp["groups"] == [
        {"code": "UEMATH1TD1", "label": "TD 1", "kind": "group", "members": ["21900001"]}
    ]
    assert vet["groups"] == [
        {
            "code": "LMATH1S1",
            "label": "Série 1 Mathématiques",
            "kind": "serie",
            "members": ["21900001", "21900002"],
        }
    ]
    assert group["groups"] == []


async def test_bulk_skips_codes_whose_etag_matches(api: httpx.AsyncClient) -> None:
    first = _lines(await api.post(f"{V1}/members:bulk", json={"codes": ["UEMATH1", VET]}))
    etags = {line["code"]: line["etag"] for line in first}
    second = _lines(
        await api.post(
            f"{V1}/members:bulk",
            json={"codes": ["UEMATH1", VET], "if_none_match": {"UEMATH1": etags["UEMATH1"]}},
        )
    )
    assert second[0] == {
        "code": "UEMATH1",
        "status": "not_modified",
        "kind": "elp",
        "etag": etags["UEMATH1"],
    }
    assert second[1]["status"] == "ok"
    assert "members" in second[1]


async def test_bulk_etag_covers_groups_only_when_asked(api: httpx.AsyncClient) -> None:
    with_groups = _lines(await api.post(f"{V1}/members:bulk", json={"codes": ["UEMATH1"]}))
    without = _lines(
        await api.post(f"{V1}/members:bulk", json={"codes": ["UEMATH1"], "with_groups": False})
    )
    single = await api.get(f"{V1}/codes/UEMATH1/members")
    assert without[0]["etag"] == single.json()["etag"] != with_groups[0]["etag"]
    assert "groups" not in without[0]


async def test_bulk_refuses_too_many_codes(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{V1}/members:bulk", json={"codes": ["X"] * 10_001})
    assert response.status_code == 422


async def test_student_lists_vets_elps_and_valid_groups(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{V1}/students/21900001")).json()
    assert [v["code"] for v in body["vets"]] == [VET]
    assert [e["code"] for e in body["elps"]] == ["UEMATH1"]
    assert sorted(g["code"] for g in body["groups"]) == ["LMATH1S1", "UEMATH1TD1"]


async def test_student_with_a_cancelled_ia_has_no_codes(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{V1}/students/21900003")).json()
    assert (body["vets"], body["elps"], body["groups"]) == ([], [], [])


async def test_student_of_last_year(api: httpx.AsyncClient) -> None:
    now = (await api.get(f"{V1}/students/21900005")).json()
    then = (await api.get(f"{V1}/students/21900005", params={"year": YEAR - 1})).json()
    assert now["vets"] == []
    assert [v["code"] for v in then["vets"]] == ["OLDVET-1"]
    assert [g["code"] for g in then["groups"]] == ["UEMATH1TD1"]


async def test_unknown_student_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{V1}/students/99999999")
    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "apogee_student_unknown",
    )
