from __future__ import annotations

import httpx
import pytest

from .tiny import VET, YEAR

V1 = "/apogee/v1"


async def _codes(api: httpx.AsyncClient, **params: str | int) -> list[str]:
    response = await api.get(f"{V1}/codes", params=params)
    assert response.status_code == 200
    return [hit["code"] for hit in response.json()["results"]]


@pytest.mark.parametrize("query", ["analyse", "ANALYSE réelle", "reelle", "Analyse Réel"])
async def test_label_words_ignore_accents_and_case(api: httpx.AsyncClient, query: str) -> None:
    assert await _codes(api, q=query) == ["UEMATH1"]


async def test_code_prefix_ranks_exact_code_first(api: httpx.AsyncClient) -> None:
    assert await _codes(api, q="uemath1") == ["UEMATH1", "UEMATH1TD1"]


async def test_closed_suspended_and_technical_codes_are_not_offered(api: httpx.AsyncClient) -> None:
    for query in ("topologie", "UECLOSE", "geometrie", "jury"):
        assert await _codes(api, q=query) == [], query


async def test_kind_and_year_filter(api: httpx.AsyncClient) -> None:
    assert await _codes(api, q="licence") == [VET]
    assert sorted(await _codes(api, q="licence", year=YEAR - 1)) == [VET, "OLDVET-1"]
    assert await _codes(api, q="oenologie", year=YEAR - 1) == ["OLDVET-1"]
    assert await _codes(api, q="uemath", kind="group") == ["UEMATH1TD1"]
    assert await _codes(api, q="lmath", limit=1) == [VET]
