"""Each service as the security tests call it: real app, own SQLite database, the Moodle
simulator and a stand-in Apogée behind the seams, demo tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import MetaData

from fusion.auth import new_token
from fusion.db import Database
from fusion.runtime import Seams
from fusion.settings import ClientToken, MoodlePlatform
from fusion.testing.clients import asgi_client
from fusion.testing.processes import free_port
from services.apogee_api.app import create_app as apogee_app
from services.apogee_api.settings import Settings as ApogeeSettings
from services.enrolment_sync.app import create_app as sync_app
from services.enrolment_sync.models import metadata as sync_metadata
from services.enrolment_sync.settings import Settings as SyncSettings
from services.identity.app import create_app as identity_app
from services.identity.models import metadata as identity_metadata
from services.identity.settings import Settings as IdentitySettings
from services.migration_orchestrator.app import create_app as orchestrator_app
from services.migration_orchestrator.migrations.models import metadata as orchestrator_metadata
from services.migration_orchestrator.preflight.archive import ArchiveLimits
from services.migration_orchestrator.services import Transports
from services.migration_orchestrator.settings import Settings as OrchestratorSettings
from sim.apogee.load import load_dataset
from sim.moodle.app import create_sim_app
from sim.moodle.enrolments import enrol_user
from sim.moodle.state import SimMoodle, all_functions
from tests.apogee_api.tiny import tiny_apogee
from tests.enrolment_sync.fake_apogee import FakeApogee, FakeCode

Client = Callable[[Path], AbstractAsyncContextManager[httpx.AsyncClient]]
TEACHER_A, TEACHER_B = "enseignant.a", "enseignant.b"
COURSE_A, COURSE_B = 2, 3  # the site course is 1
EDITING_TEACHER = 3


def _sqlite(tmp_path: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}"


# The Moodle web-service token of the simulated platforms: random, so that a scan of the logs
# for it means something.
MOODLE_TOKEN = new_token()
Tokens = Sequence[ClientToken]


def apogee_settings(url: str, tokens: Tokens = ()) -> ApogeeSettings:
    return ApogeeSettings(
        environment="test", demo_tokens=True, database_url=url, tokens=list(tokens)
    )


def identity_settings(url: str, tokens: Tokens = ()) -> IdentitySettings:
    return IdentitySettings(
        environment="test",
        demo_tokens=True,
        database_url=url,
        database_create_tables=True,
        tokens=list(tokens),
    )


def orchestrator_settings(url: str, tokens: Tokens = ()) -> OrchestratorSettings:
    """A source and the merged platform on the Moodle simulator; Apogée and identity down (a
    port nobody listens on): their answers are refused at once, as documented."""
    platforms = [
        MoodlePlatform(name=name, url=f"http://sim/{name}", token=MOODLE_TOKEN)
        for name in ("ub4", "target")
    ]
    dead = f"http://127.0.0.1:{free_port()}"
    return OrchestratorSettings(
        environment="test",
        demo_tokens=True,
        database_url=url,
        database_create_tables=True,
        tokens=list(tokens),
        platforms=platforms,
        apogee_url=dead,
        identity_url=dead,
        preflight=ArchiveLimits(max_archive_bytes=200_000),
        # the pages too, as every deployment serves them (their upstreams down as well)
        web_secret_key=SecretStr("security-tests-pages-key"),
        pages_apogee_url=dead,
        pages_sync_url=dead,
        pages_identity_url=dead,
        pages_apogee_token=SecretStr(new_token()),
        pages_sync_token=SecretStr(new_token()),
        pages_sync_plugin_token=SecretStr(new_token()),
        pages_identity_token=SecretStr(new_token()),
    )


def orchestrator_world() -> SimMoodle:
    sim = SimMoodle()
    for name in ("ub4", "target"):
        platform = sim.add_platform(name, sitename=name, wwwroot=f"http://{name}.test")
        admin = platform.add_user("admin", "Admin", "User", f"admin@{name}.example.edu", id=2)
        platform.add_token(MOODLE_TOKEN, userid=admin.id, functions=all_functions())
        platform.add_category("Default", id=1)
    return sim


def sync_settings(url: str, tokens: Tokens = (), min_interval: float = 0) -> SyncSettings:
    return SyncSettings(
        environment="test",
        demo_tokens=True,
        database_url=url,
        database_create_tables=True,
        tokens=list(tokens),
        moodle_token=MOODLE_TOKEN,
        schedule_enabled=False,
        moodle_url="http://sim/target",
        apogee_url="http://apogee",
        course_sync_min_interval_seconds=min_interval,
    )


def sync_world() -> tuple[SimMoodle, FakeApogee]:
    """Two teachers, each with a course of their own; one Apogée code with two students."""
    sim = SimMoodle()
    target = sim.add_platform("target", sitename="Target", wwwroot="http://moodle.test")
    admin = target.add_user("admin", "Admin", "User", "admin@example.edu", id=2)
    target.add_token(MOODLE_TOKEN, userid=admin.id, functions=all_functions())
    target.add_category("Default", id=1)
    for teacher, shortname in ((TEACHER_A, "BIO101"), (TEACHER_B, "CHI101")):
        user = target.add_user(teacher, "Prof", teacher, f"{teacher}@example.edu")
        course = target.add_course(shortname, shortname, 1)
        manual = target.add_instance(course.id, "manual")
        enrol_user(target, manual, user.id, roleid=EDITING_TEACHER)
    apogee = FakeApogee()
    apogee.codes["UE1BIO"] = FakeCode(members={"21900001": ("Nom", "Prénom")})
    return sim, apogee


async def _tables(url: str, metadata: MetaData) -> None:
    database = Database(url)
    await database.create_all(metadata)
    await database.dispose()


async def apogee_service(tmp_path: Path, tokens: Tokens = ()) -> FastAPI:
    url = _sqlite(tmp_path, "apogee.db")
    await load_dataset(url, tiny_apogee())
    return apogee_app(apogee_settings(url, tokens))


async def identity_service(tmp_path: Path, tokens: Tokens = ()) -> FastAPI:
    url = _sqlite(tmp_path, "id.db")
    await _tables(url, identity_metadata)
    return identity_app(identity_settings(url, tokens))


async def orchestrator_service(tmp_path: Path, tokens: Tokens = ()) -> FastAPI:
    url = _sqlite(tmp_path, "mo.db")
    await _tables(url, orchestrator_metadata)
    moodle = httpx.ASGITransport(app=create_sim_app(orchestrator_world()))
    settings = orchestrator_settings(url, tokens)
    return orchestrator_app(settings, transports=Transports(moodle=moodle))


async def sync_service(tmp_path: Path, tokens: Tokens = (), min_interval: float = 0) -> FastAPI:
    url = _sqlite(tmp_path, "sync.db")
    await _tables(url, sync_metadata)
    sim, apogee = sync_world()
    transports = {
        "apogee": apogee.transport(),
        "moodle": httpx.ASGITransport(app=create_sim_app(sim)),
    }
    return sync_app(sync_settings(url, tokens, min_interval), seams=Seams(transports=transports))


# Each service's app on its own fresh database (and stand-in upstreams), not yet started.
APPS: dict[str, Callable[..., Awaitable[FastAPI]]] = {
    "apogee_api": apogee_service,
    "identity": identity_service,
    "migration_orchestrator": orchestrator_service,
    "enrolment_sync": sync_service,
}


def _client(service: str) -> Client:
    @asynccontextmanager
    async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
        async with asgi_client(await APPS[service](tmp_path)) as client:
            yield client

    return client


apogee_client = _client("apogee_api")
identity_client = _client("identity")
orchestrator_client = _client("migration_orchestrator")
sync_client = _client("enrolment_sync")


def documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document (building it needs no lifespan)."""
    memory = "sqlite+aiosqlite:///:memory:"
    apps: dict[str, FastAPI] = {
        "apogee_api": apogee_app(apogee_settings(memory)),
        "identity": identity_app(identity_settings(memory)),
        "migration_orchestrator": orchestrator_app(orchestrator_settings(memory)),
        "enrolment_sync": sync_app(sync_settings(memory)),
    }
    return {name: app.openapi() for name, app in apps.items()}


CLIENTS: dict[str, Client] = {service: _client(service) for service in APPS}
