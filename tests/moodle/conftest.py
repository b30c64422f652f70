from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from fusion.moodle.client import MoodleClient
from sim.moodle.app import create_sim_app
from sim.moodle.golden import GOLDEN_PLATFORM, seed_golden
from sim.moodle.state import SimMoodle, all_functions

ALL_TOKEN = "all-functions-token"


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free loopback port, in this event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):  # bounded: at most ~5 s
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


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
