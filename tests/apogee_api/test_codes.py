from __future__ import annotations

import httpx
import pytest

from .tiny import VET, YEAR

V1 = "/apogee/v1"


async def test_current_year_is_the_latest_open_for_enrolment(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{V1}/years/current")
    assert response.status_code == 200
    assert response.json() == {
        "year": YEAR,
        "label": f"{YEAR}/{YEAR + 1}",
        "years": [YEAR - 1, YEAR],
    }


async def test_vet_lookup_counts_only_live_enrolments(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{V1}/codes/{VET}")).json()
    assert body["kind"] == "vet"
    assert body["component"] == {"code": "C01", "label": "UFR Mathématiques et interactions"}
    assert body["status"] == "valid"
    assert body["member_count"] == 3  # Léa, Hugo, Noé; Zoé's IA is cancelled


async def test_elp_lookup_gives_parent_period_and_excludes_carried_contracts(
    api: httpx.AsyncClient,
) -> None:
    body = (await api.get(f"{V1}/codes/uemath1")).json()
    assert (body["code"], body["kind"], body["period"]) == ("UEMATH1", "elp", "S1")
    assert body["parents"] == [
        {"code": VET, "kind": "vet", "label": "Licence Mathématiques appliquées"}
    ]
    assert body["member_count"] == 2  # Léa, Hugo; not Zoé (cancelled) nor Noé (carried)


async def test_closed_elp_is_reported_closed_with_a_reason(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{V1}/codes/UECLOSE")).json()
    assert (body["status"], body["open"]) == ("closed", False)
    assert "fermé" in body["reason_fr"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (VET, "valid"),
        ("UEMATH1", "valid"),
        ("NOPE", "unknown"),
        ("UECLOSE", "closed"),
        ("UESUSP", "closed"),
        ("JURY", "closed"),
        ("OLDVET-1", "not_offered"),
        ("UEORPH", "not_offered"),
        ("UEMATH1TD9", "not_offered"),
        ("UEMATH1TD1", "valid"),
        ("LMATH1S1", "valid"),
    ],
)
async def test_validate_answers_each_code(api: httpx.AsyncClient, code: str, status: str) -> None:
    response = await api.post(f"{V1}/codes:validate", json={"codes": [code], "year": YEAR})
    [result] = response.json()["results"]
    assert result["status"] == status
    assert (result["reason_fr"] is None) == (status == "valid")


async def test_a_vet_closed_this_year_was_offered_last_year(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{V1}/codes:validate", json={"codes": ["OLDVET-1"], "year": YEAR - 1}
    )
    assert response.json()["results"][0]["status"] == "valid"


async def test_unknown_code_and_year_are_404_with_the_envelope(api: httpx.AsyncClient) -> None:
    code = await api.get(f"{V1}/codes/NOPE")
    year = await api.get(f"{V1}/codes/{VET}", params={"year": 1999})
    assert (code.status_code, code.json()["error"]["code"]) == (404, "apogee_code_unknown")
    assert (year.status_code, year.json()["error"]["code"]) == (404, "apogee_year_unknown")
    assert code.json()["error"]["message_fr"]


async def test_bad_input_is_refused(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"{V1}/codes/bad%20code")).status_code == 422
    assert (await api.get(f"{V1}/codes", params={"q": "a", "limit": 500})).status_code == 422
    too_many = {"codes": [f"C{i}" for i in range(1001)]}
    assert (await api.post(f"{V1}/codes:validate", json=too_many)).status_code == 422


async def test_every_endpoint_needs_a_token(api: httpx.AsyncClient) -> None:
    for path in (
        "/years/current",
        f"/codes/{VET}",
        "/codes?q=ana",
        f"/codes/{VET}/members",
        f"/codes/{VET}/groups",
        "/students/21900001",
    ):
        response = await api.get(V1 + path, headers={"Authorization": ""})
        assert response.status_code == 401, path
    response = await api.get(f"{V1}/years/current", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


async def test_groups_of_an_elp_skip_groups_outside_their_years(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{V1}/codes/UEMATH1/groups")).json()
    assert [(g["code"], g["kind"], g["member_count"]) for g in body["groups"]] == [
        ("UEMATH1TD1", "group", 1)
    ]  # Zoé's IA is cancelled; TD9 ended last year
    last_year = (await api.get(f"{V1}/codes/UEMATH1/groups", params={"year": YEAR - 1})).json()
    assert sorted(g["code"] for g in last_year["groups"]) == ["UEMATH1TD1", "UEMATH1TD9"]


async def test_series_are_the_groups_of_a_vet(api: httpx.AsyncClient) -> None:
    body = (await api.get(f"{V1}/codes/{VET}/groups")).json()
    assert [(g["code"], g["kind"], g["member_count"]) for g in body["groups"]] == [
        ("LMATH1S1", "serie", 2)
    ]
    serie = (await api.get(f"{V1}/codes/LMATH1S1")).json()
    assert (serie["kind"], serie["parents"][0]["code"]) == ("serie", VET)
