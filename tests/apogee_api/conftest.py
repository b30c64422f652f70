from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from fusion.testing.clients import DEMO_HEADERS, asgi_client
from services.apogee_api.app import create_app
from services.apogee_api.settings import Settings
from sim.apogee.load import load_dataset

from .tiny import tiny_apogee

AUTH = DEMO_HEADERS["service"]  # rosters and student records are for operators


def settings_for(url: str, **overrides: object) -> Settings:
    return Settings(database_url=url, demo_tokens=True, environment="test", **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def tiny_url(database_url: str) -> str:
    """The hand-built Apogée (``tiny.py``) on PostgreSQL and on SQLite."""
    await load_dataset(database_url, tiny_apogee())
    return database_url


@pytest.fixture
async def api(tiny_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(settings_for(tiny_url))) as client:
        client.headers.update(AUTH)
        yield client
