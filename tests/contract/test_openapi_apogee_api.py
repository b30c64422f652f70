"""apogee_api on the hand-built Apogée: schema-generated input gets a documented answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from schemathesis import Case

from services.apogee_api.app import create_app
from services.apogee_api.settings import Settings
from sim.apogee.load import load_dataset
from tests.apogee_api.tiny import tiny_apogee

from .harness import ADMIN, BOUNDED, call_and_validate, schema_of, served


def _settings(database_url: str) -> Settings:
    return Settings(environment="test", demo_tokens=True, database_url=database_url)


schema = schema_of(create_app(_settings("sqlite+aiosqlite:///:memory:")))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Any]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'apogee.db'}"
    await load_dataset(url, tiny_apogee())
    with served(create_app(_settings(url))) as app:
        yield app


@schema.parametrize()
@BOUNDED
def test_apogee_api_answers_as_documented(case: Case, app: Any) -> None:
    call_and_validate(case, app, headers=ADMIN)
