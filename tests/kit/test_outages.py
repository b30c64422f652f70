"""A database that goes away, or is away at start: every service answers 503 in the error
envelope, keeps answering ``/healthz``, says ``/readyz`` 503, and recovers by itself.

PostgreSQL is reached through a TCP proxy the test cuts (the server itself is shared).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fusion.alembic_env import upgrade
from fusion.testing.clients import DEMO_HEADERS, asgi_client
from fusion.testing.plugin import NewDatabase
from fusion.testing.postgres import through_port
from fusion.testing.rabbit import TcpProxy, wait_until
from launcher.registry import SERVICES as ENTRIES
from services.apogee_api.app import create_app as create_apogee
from services.apogee_api.settings import Settings as ApogeeSettings
from services.enrolment_sync.app import create_app as create_sync
from services.enrolment_sync.settings import Settings as SyncSettings
from services.identity.app import create_app as create_identity
from services.identity.settings import Settings as IdentitySettings
from services.migration_orchestrator.app import create_app as create_orchestrator
from services.migration_orchestrator.settings import Settings as OrchestratorSettings
from sim.apogee.load import load_dataset
from tests.apogee_api.tiny import tiny_apogee

pytestmark = pytest.mark.postgres
ADMIN = DEMO_HEADERS["admin"]
COMMON: dict[str, Any] = {"environment": "test", "demo_tokens": True}


@dataclass(frozen=True)
class Service:
    name: str
    prefix: str
    probe: str  # a GET that reads the service's database
    create: Callable[..., FastAPI]  # (url, database_create_tables=True)


def _sync(url: str, database_create_tables: bool = True) -> FastAPI:
    settings = SyncSettings(
        **COMMON,
        database_url=url,
        database_create_tables=database_create_tables,
        schedule_enabled=False,
    )
    return create_sync(settings)


def _identity(url: str, database_create_tables: bool = True) -> FastAPI:
    settings = IdentitySettings(
        **COMMON, database_url=url, database_create_tables=database_create_tables
    )
    return create_identity(settings)


def _orchestrator(url: str, database_create_tables: bool = True) -> FastAPI:
    settings = OrchestratorSettings(
        **COMMON, database_url=url, database_create_tables=database_create_tables
    )
    return create_orchestrator(settings)


def _apogee(url: str) -> FastAPI:
    return create_apogee(ApogeeSettings(**COMMON, database_url=url))


SERVICES = [
    Service("enrolment_sync", "/sync", "/sync/v1/runs", _sync),
    Service("identity", "/identity", "/identity/v1/persons", _identity),
    Service("migration_orchestrator", "/migrations", "/migrations/v1/migrations", _orchestrator),
    Service("apogee_api", "/apogee", "/apogee/v1/codes/LMATH-1/members", _apogee),
]


@pytest.fixture
async def pg_proxy() -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    yield proxy
    await proxy.close()


async def _database(service: Service, new_pg_database: NewDatabase, proxy: TcpProxy) -> str:
    url = await new_pg_database(service.name[:8])
    if service.name == "apogee_api":
        await load_dataset(url, tiny_apogee())
    return through_port(url, proxy.port)


async def _ready(client: httpx.AsyncClient, service: Service) -> httpx.Response | None:
    answer = await client.get(f"{service.prefix}/readyz")
    return answer if answer.status_code == 200 else None


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
async def test_a_database_outage_is_a_503_envelope_and_one_log_line(
    service: Service,
    new_pg_database: NewDatabase,
    pg_proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = service.create(await _database(service, new_pg_database, pg_proxy))
    async with asgi_client(app) as client:
        assert (await client.get(service.probe, headers=ADMIN)).status_code == 200
        pg_proxy.cut()
        with caplog.at_level(logging.WARNING):
            answers = [await client.get(service.probe, headers=ADMIN) for _ in range(5)]
        assert {a.status_code for a in answers} == {503}
        error = answers[0].json()["error"]
        assert error["code"] == "database_unavailable"
        assert error["message_fr"].startswith("La base de données")
        outage_lines = [r for r in caplog.records if r.name == "fusion.outage"]
        route = f"GET {service.prefix}/"
        assert len([r for r in outage_lines if r.getMessage().startswith(route)]) == 1
        assert all(r.exc_info is None for r in outage_lines)  # no traceback per request
        assert (await client.get(f"{service.prefix}/healthz")).status_code == 200
        assert (await client.get(f"{service.prefix}/readyz")).status_code == 503
        pg_proxy.restore()
        await wait_until(lambda: _ready(client, service), seconds=30)
        assert (await client.get(service.probe, headers=ADMIN)).status_code == 200


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
async def test_a_service_started_with_its_database_down_becomes_ready_by_itself(
    service: Service, new_pg_database: NewDatabase, pg_proxy: TcpProxy
) -> None:
    url = await _database(service, new_pg_database, pg_proxy)
    pg_proxy.cut()
    async with asgi_client(service.create(url)) as client:
        assert (await client.get(f"{service.prefix}/healthz")).status_code == 200
        not_ready = await client.get(f"{service.prefix}/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["database"].startswith("failed")
        assert (await client.get(service.probe, headers=ADMIN)).status_code == 503
        pg_proxy.restore()
        ready = await wait_until(lambda: _ready(client, service), seconds=30)
        assert set(ready.json()["checks"].values()) == {"ok"}
        assert (await client.get(service.probe, headers=ADMIN)).status_code == 200


async def _checks(client: httpx.AsyncClient, service: Service) -> dict[str, str]:
    answer = await client.get(f"{service.prefix}/readyz")
    checks: dict[str, str] = answer.json()["checks"]
    assert (answer.status_code == 200) == (set(checks.values()) == {"ok"})
    return checks


async def _schema_refused(client: httpx.AsyncClient, service: Service) -> dict[str, str] | None:
    checks = await _checks(client, service)
    return checks if checks.get("schema") == "failed: SchemaNotMigrated" else None


WITH_HISTORY = [s for s in SERVICES if s.name != "apogee_api"]  # apogee_api owns no tables


@pytest.mark.parametrize("service", WITH_HISTORY, ids=lambda s: s.name)
async def test_a_database_that_comes_up_without_its_schema_is_one_message_and_not_ready(
    service: Service,
    new_pg_database: NewDatabase,
    pg_proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = await new_pg_database(service.name[:8])
    pg_proxy.cut()
    app = service.create(through_port(url, pg_proxy.port), database_create_tables=False)
    with caplog.at_level(logging.INFO):
        async with asgi_client(app) as client:
            assert (await _checks(client, service))["schema"] == "failed: SchemaUnread"
            pg_proxy.restore()
            checks = await wait_until(lambda: _schema_refused(client, service), seconds=30)
            assert checks["database"] == "ok"
            # it stays up, and starts by itself once the history is applied
            migrations = ENTRIES[service.name].migrations_dir()
            assert migrations is not None
            await asyncio.to_thread(upgrade, migrations, url)
            await wait_until(lambda: _ready(client, service), seconds=30)
            assert (await client.get(service.probe, headers=ADMIN)).status_code == 200
    told = [r for r in caplog.records if "fusion migrate" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in told] == [
        (
            "ERROR",
            f"La base de données du service {service.name} n'a pas son schéma (table "
            f"alembic_version absente) : lancez `fusion migrate {service.name}`.\n"
            f"{service.name}'s database has no schema (table alembic_version missing): "
            f"run `fusion migrate {service.name}`.",
        )
    ]
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []  # no loop's traceback
