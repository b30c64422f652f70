from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from fusion.moodle.client import MoodleClient
from fusion.testing.serving import serving
from sim.moodle.app import create_sim_app
from sim.moodle.golden import GOLDEN_PLATFORM, seed_golden
from sim.moodle.state import SimMoodle, all_functions

ALL_TOKEN = "all-functions-token"


@pytest.fixture
def sim() -> SimMoodle:
    sim = SimMoodle()
    platform = seed_golden(sim)
    platform.add_token(ALL_TOKEN, userid=2, functions=all_functions())
    return sim


@pytest.fixture(params=["asgi", "http"])
async def http_to_sim(
    request: pytest.FixtureRequest, sim: SimMoodle
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An HTTP client and the golden platform's wwwroot, through ASGI or real loopback HTTP."""
    app = create_sim_app(sim)
    if request.param == "asgi":
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http:
            yield http, f"http://sim/{GOLDEN_PLATFORM}"
        return
    async with serving(app) as url, httpx.AsyncClient(timeout=10.0) as http:
        yield http, f"{url}/{GOLDEN_PLATFORM}"


@pytest.fixture
def moodle(http_to_sim: tuple[httpx.AsyncClient, str]) -> MoodleClient:
    http, wwwroot = http_to_sim
    return MoodleClient(base_url=wwwroot, token=ALL_TOKEN, http=http)
