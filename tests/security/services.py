"""Each service as the security tests call it: real app, own SQLite database, the Moodle
simulator and a stand-in Apogée behind the seams, demo tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import MetaData

from fusion.db import Database
from fusion.runtime import Seams
from fusion.settings import MoodlePlatform
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


def apogee_settings(url: str) -> ApogeeSettings:
    return ApogeeSettings(environment="test", demo_tokens=True, database_url=url)


def identity_settings(url: str) -> IdentitySettings:
    return IdentitySettings(environment="test", demo_tokens=True, database_url=url)


def orchestrator_settings(url: str) -> OrchestratorSettings:
    dead = MoodlePlatform(name="ub4", url=f"http://127.0.0.1:{free_port()}", token="t")
    return OrchestratorSettings(
        environment="test",
        demo_tokens=True,
        database_url=url,
        platforms=[dead],
        preflight=ArchiveLimits(max_archive_bytes=200_000),
    )


def sync_settings(url: str) -> SyncSettings:
    return SyncSettings(
        environment="test",
        demo_tokens=True,
        database_url=url,
        schedule_enabled=False,
        moodle_url="http://sim/target",
        apogee_url="http://apogee",
        course_sync_min_interval_seconds=0,
    )


def sync_world() -> tuple[SimMoodle, FakeApogee]:
    """Two teachers, each with a course of their own; one Apogée code with two students."""
    sim = SimMoodle()
    target = sim.add_platform("target", sitename="Target", wwwroot="http://moodle.test")
    admin = target.add_user("admin", "Admin", "User", "admin@example.edu", id=2)
    target.add_token("target-token", userid=admin.id, functions=all_functions())
    target.add_category("Default", id=1)
    for teacher, shortname in ((TEACHER_A, "BIO101"), (TEACHER_B, "CHI101")):
        user = target.add_user(teacher, "Prof", teacher, f"{teacher}@example.edu")
        course = target.add_course(shortname, shortname, 1)
        manual = target.add_instance(course.id, "manual")
        enrol_user(target, manual, user.id, roleid=EDITING_TEACHER)
    apogee = FakeApogee()
    apogee.codes["UE1BIO"] = FakeCode(members={"21900001": ("Nom", "Prénom")})
    return sim, apogee


@asynccontextmanager
async def apogee_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = _sqlite(tmp_path, "apogee.db")
    await load_dataset(url, tiny_apogee())
    async with asgi_client(apogee_app(apogee_settings(url))) as client:
        yield client


async def _tables(url: str, metadata: MetaData) -> None:
    database = Database(url)
    await database.create_all(metadata)
    await database.dispose()


@asynccontextmanager
async def identity_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = _sqlite(tmp_path, "id.db")
    await _tables(url, identity_metadata)
    async with asgi_client(identity_app(identity_settings(url))) as client:
        yield client


@asynccontextmanager
async def orchestrator_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = _sqlite(tmp_path, "mo.db")
    await _tables(url, orchestrator_metadata)
    async with asgi_client(orchestrator_app(orchestrator_settings(url))) as client:
        yield client


@asynccontextmanager
async def sync_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = _sqlite(tmp_path, "sync.db")
    await _tables(url, sync_metadata)
    sim, apogee = sync_world()
    transports = {
        "apogee": apogee.transport(),
        "moodle": httpx.ASGITransport(app=create_sim_app(sim)),
    }
    app = sync_app(sync_settings(url), seams=Seams(transports=transports))
    async with asgi_client(app) as client:
        yield client


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


CLIENTS: dict[str, Client] = {
    "apogee_api": apogee_client,
    "identity": identity_client,
    "migration_orchestrator": orchestrator_client,
    "enrolment_sync": sync_client,
}
