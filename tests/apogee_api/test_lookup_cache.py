"""Code lookups served from the bytes of an earlier identical lookup: same answer, same checks
of the token, gone with the catalogue on a refresh, still counted under the route template."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from fusion.asgi import HostedApp
from fusion.observability import HTTP_REQUESTS
from fusion.testing.clients import DEMO_HEADERS
from services.apogee_api.apogee_tables import element_pedagogi
from services.apogee_api.app import create_app
from services.apogee_api.state import ApogeeState

from .conftest import settings_for
from .tiny import YEAR

LOOKUP = "/apogee/v1/codes/UEMATH1"


@pytest.fixture
async def hosted(tiny_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, ApogeeState]]:
    async with HostedApp(create_app(settings_for(tiny_url))).running() as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            state = app.state["runtime"].state
            assert isinstance(state, ApogeeState)
            yield client, state


def _cached(state: ApogeeState) -> dict[Any, Any]:
    snapshot = state.catalogue.current
    assert snapshot is not None
    return snapshot.responses


async def test_a_repeated_lookup_is_the_same_answer_from_the_cache(
    hosted: tuple[httpx.AsyncClient, ApogeeState],
) -> None:
    client, state = hosted
    first = await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])
    assert first.status_code == 200
    assert len(_cached(state)) == 1
    again = await client.get(LOOKUP, headers=DEMO_HEADERS["service"])
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["x-correlation-id"] != first.headers["x-correlation-id"]
    # Another year is another answer, kept apart.
    other = await client.get(LOOKUP, params={"year": YEAR - 1}, headers=DEMO_HEADERS["plugin"])
    assert other.status_code == 200
    assert other.json()["year"] == YEAR - 1
    assert len(_cached(state)) == 2


async def test_a_cached_answer_still_needs_a_valid_token(
    hosted: tuple[httpx.AsyncClient, ApogeeState],
) -> None:
    client, state = hosted
    assert (await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])).status_code == 200
    assert len(_cached(state)) == 1
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        refused = await client.get(LOOKUP, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert "UEMATH1" not in refused.text


async def test_only_plain_200_answers_are_kept(
    hosted: tuple[httpx.AsyncClient, ApogeeState],
) -> None:
    client, state = hosted
    unknown = await client.get("/apogee/v1/codes/NOPE", headers=DEMO_HEADERS["plugin"])
    assert unknown.status_code == 404
    bad_year = await client.get(LOOKUP, params={"year": 1}, headers=DEMO_HEADERS["plugin"])
    assert bad_year.status_code == 422
    no_year = await client.get(LOOKUP, params={"year": 2999}, headers=DEMO_HEADERS["plugin"])
    assert no_year.status_code == 404
    assert _cached(state) == {}
    again = await client.get("/apogee/v1/codes/NOPE", headers=DEMO_HEADERS["plugin"])
    assert again.status_code == 404


async def test_a_refresh_drops_the_cached_answers(
    hosted: tuple[httpx.AsyncClient, ApogeeState], tiny_url: str
) -> None:
    client, state = hosted
    before = await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])
    assert before.json()["label"] == "Analyse réelle"
    engine = create_async_engine(tiny_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(element_pedagogi)
                .where(element_pedagogi.c.cod_elp == "UEMATH1")
                .values(lib_elp="Analyse réelle 2")
            )
    finally:
        await engine.dispose()
    assert (await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])).json() == before.json()
    await state.catalogue.refresh()
    assert _cached(state) == {}
    after = await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])
    assert after.json()["label"] == "Analyse réelle 2"


async def test_a_cached_answer_is_counted_under_the_route_template(
    hosted: tuple[httpx.AsyncClient, ApogeeState],
) -> None:
    client, _ = hosted
    labels = ("apogee_api", "GET", "/apogee/v1/codes/{code}", "2xx")
    counted = HTTP_REQUESTS.labels(*labels)._value.get()
    for _ in range(3):
        assert (await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])).status_code == 200
    assert HTTP_REQUESTS.labels(*labels)._value.get() == counted + 3


async def test_an_answer_built_here_is_the_routes_byte_for_byte(
    hosted: tuple[httpx.AsyncClient, ApogeeState],
) -> None:
    client, _ = hosted
    for year in (YEAR, YEAR - 1):
        direct = await client.get(f"{LOOKUP}?year={year}", headers=DEMO_HEADERS["plugin"])
        # Another query parameter: not the plain form, so FastAPI's route answers it.
        routed = await client.get(f"{LOOKUP}?year={year}&x=1", headers=DEMO_HEADERS["plugin"])
        assert direct.status_code == routed.status_code == 200
        assert direct.content == routed.content
        assert direct.headers["content-type"] == routed.headers["content-type"]
        assert direct.headers["content-length"] == routed.headers["content-length"]
    lower = await client.get("/apogee/v1/codes/uemath1", headers=DEMO_HEADERS["plugin"])
    assert lower.json() == (await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])).json()


async def test_what_the_route_refuses_is_still_refused(
    hosted: tuple[httpx.AsyncClient, ApogeeState],
) -> None:
    client, state = hosted
    for path in (f"{LOOKUP}%0A", f"{LOOKUP}%20", "/apogee/v1/codes/" + "A" * 25):
        assert (await client.get(path, headers=DEMO_HEADERS["plugin"])).status_code == 422
    below = await client.get(f"{LOOKUP}?year=1899", headers=DEMO_HEADERS["plugin"])
    assert below.status_code == 422
    assert _cached(state) == {}
    # Not the plain form: the route judges it (FastAPI reads "02026" as 2026), then it is kept.
    padded = await client.get(f"{LOOKUP}?year=0{YEAR}", headers=DEMO_HEADERS["plugin"])
    assert padded.status_code == 200
    assert padded.content == (await client.get(LOOKUP, headers=DEMO_HEADERS["plugin"])).content
