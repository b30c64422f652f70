from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from fusion.db import Database
from fusion.settings import MoodlePlatform
from fusion.testing.clients import DEMO_HEADERS, asgi_client
from fusion.testing.plugin import NewDatabase
from services.identity.app import create_app
from services.identity.models import messaging
from services.identity.settings import Settings
from sim.moodle.app import create_sim_app
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle, all_functions

PLATFORM_NAMES = ("ub1", "ub2", "ub3", "target")
ADMIN = DEMO_HEADERS["admin"]


def add_sim_platform(sim: SimMoodle, name: str) -> Platform:
    platform = sim.add_platform(name, sitename=name.upper(), wwwroot=f"http://sim/{name}")
    platform.add_category("Miscellaneous", id=1)
    platform.add_user("admin", "Admin", "User", f"admin@{name}.test", id=2, firstaccess=1)
    platform.add_token(f"{name}-token", userid=2, functions=all_functions())
    return platform


@pytest.fixture
def sim() -> SimMoodle:
    sim = SimMoodle()
    for name in PLATFORM_NAMES:
        add_sim_platform(sim, name)
    return sim


def identity_settings(database_url: str, **overrides: Any) -> Settings:
    platforms = [
        MoodlePlatform(name=n, url=f"http://sim/{n}", token=SecretStr(f"{n}-token"))
        for n in PLATFORM_NAMES
    ]
    values: dict[str, Any] = {
        "environment": "test",
        "demo_tokens": True,
        "database_url": database_url,
        "database_create_tables": True,
        "platforms": platforms,
        "plan_batch_size": 3,  # several batches per round in small tests
        "ws_page_size": 50,
    }
    return Settings(**(values | overrides))


@dataclass
class Identity:
    sim: SimMoodle
    http: httpx.AsyncClient
    settings: Settings

    async def wait_import(self, job: dict[str, Any]) -> dict[str, Any]:
        return await self._wait(f"/identity/v1/imports/{job['id']}", {"done", "failed"})

    async def wait_plan(self, plan: dict[str, Any], states: set[str]) -> dict[str, Any]:
        return await self._wait(f"/identity/v1/plans/{plan['id']}", states)

    async def _wait(self, url: str, states: set[str]) -> dict[str, Any]:
        for _ in range(400):  # bounded: about 20 s
            answer = await self.http.get(url, headers=ADMIN)
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            if body["state"] in states:
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{url} never reached {states}")

    async def load_platform(self, name: str) -> dict[str, Any]:
        started = await self.http.post(
            "/identity/v1/imports", json={"source": "moodle_ws", "platform": name}, headers=ADMIN
        )
        assert started.status_code == 202, started.text
        return await self.wait_import(started.json())

    async def load_file(self, data: bytes, **params: str) -> dict[str, Any]:
        started = await self.http.post(
            "/identity/v1/file-imports",
            params=params,
            content=data,
            headers={**ADMIN, "content-type": "text/csv"},
        )
        assert started.status_code == 202, started.text
        return await self.wait_import(started.json())


async def stored_rows(identity: Identity, query: Any) -> list[Any]:
    """Rows of ``query`` in the service's database, read beside the running service."""
    database = Database(identity.settings.database_url.get_secret_value())
    try:
        async with database.session() as session:
            return list((await session.execute(query)).all())
    finally:
        await database.dispose()


async def published_types(identity: Identity) -> list[str]:
    """The types of the messages staged in the outbox, oldest first."""
    outbox = messaging.outbox
    rows = await stored_rows(identity, select(outbox.c.type).order_by(outbox.c.created_at))
    return [row.type for row in rows]


async def moves(identity: Identity, history: Any, entity_id: int) -> list[str]:
    """An import's or a plan's states, in the order its lifecycle recorded them."""
    query = select(history.c.to_state).where(history.c.entity_id == str(entity_id))
    return [row.to_state for row in await stored_rows(identity, query.order_by(history.c.id))]


@asynccontextmanager
async def running_identity(
    sim: SimMoodle, database_url: str, **overrides: Any
) -> AsyncIterator[Identity]:
    settings = identity_settings(database_url, **overrides)
    transport = httpx.ASGITransport(app=create_sim_app(sim))
    app = create_app(settings, moodle_transport=transport)
    async with asgi_client(app) as http:
        yield Identity(sim=sim, http=http, settings=settings)


@pytest.fixture
async def identity(sim: SimMoodle, tmp_path: Path) -> AsyncIterator[Identity]:
    """On SQLite (the all-in-one mode): PostgreSQL's DROP DATABASE costs seconds a test here."""
    async with running_identity(sim, f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}") as running:
        yield running


@pytest.fixture
async def identity_pg(sim: SimMoodle, new_pg_database: NewDatabase) -> AsyncIterator[Identity]:
    async with running_identity(sim, await new_pg_database()) as running:
        yield running


def mdl_user_csv(platform: Platform) -> bytes:
    """What the documented ``SELECT ... FROM mdl_user`` export of this platform holds."""
    out = io.StringIO()
    columns = ["id", "username", "email", "firstname", "lastname", "idnumber", "auth"]
    columns += ["firstaccess", "lastaccess", "deleted", "suspended"]
    writer = csv.writer(out)
    writer.writerow(columns)
    for user in sorted(platform.users.values(), key=lambda u: u.id):
        writer.writerow(
            [
                user.id,
                user.username,
                user.email,
                user.firstname,
                user.lastname,
                user.idnumber,
                user.auth,
                user.firstaccess,
                user.lastaccess,
                int(user.deleted),
                int(user.suspended),
            ]
        )
    return out.getvalue().encode()
