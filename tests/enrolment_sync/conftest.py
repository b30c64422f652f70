from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from fusion.apogee import ApogeeClient
from fusion.asgi import HostedApp
from fusion.bus import Bus, MemoryBus
from fusion.db import Database
from fusion.moodle.client import MoodleClient
from fusion.runtime import Seams
from fusion.unit_of_work import UnitOfWork, open_unit_of_work
from services.enrolment_sync.app import create_app
from services.enrolment_sync.models import SyncRun, messaging, metadata
from services.enrolment_sync.runs import execute_run
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.state import SyncState
from sim.moodle.app import create_sim_app
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle
from tests.enrolment_sync.merged import TOKEN, api_settings, merged_platform

from .fake_apogee import FakeApogee

# Read functions: what writes() leaves out.
READS = (
    "core_user_get",
    "core_group_get",
    "core_enrol_get",
    "core_course_get",
    "core_webservice_get_site_info",
)

# A client of the sync's HTTP API, the service's state and its in-process bus
Api = tuple[httpx.AsyncClient, SyncState, MemoryBus]


@dataclass
class World:
    sim: SimMoodle
    target: Platform
    apogee: FakeApogee
    db: Database
    apogee_client: ApogeeClient
    moodle: MoodleClient
    settings: Settings

    def seams(self, bus: Bus | None = None) -> Seams:
        """What the app under test talks to instead of the network: this world's Apogée and
        Moodle, and ``bus``."""
        moodle = httpx.ASGITransport(app=create_sim_app(self.sim))
        return Seams(bus=bus, transports={"apogee": self.apogee.transport(), "moodle": moodle})

    @asynccontextmanager
    async def running_api(self, **settings: Any) -> AsyncIterator[Api]:
        """The sync on this world through its real lifespan (``api_settings`` and
        ``settings``), an in-process bus, and a client of its HTTP API."""
        bus = MemoryBus()
        app = create_app(
            api_settings(self.settings.database_url, **settings), seams=self.seams(bus)
        )
        async with bus, HostedApp(app).running() as hosted:
            transport = httpx.ASGITransport(app=hosted)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client, hosted.state["runtime"].state, bus

    def units(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return open_unit_of_work(self.db, outbox=messaging.outbox)

    async def execute(
        self,
        run_id: int,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncRun:
        return await execute_run(
            run_id,
            db=self.db,
            units=self.units,
            apogee=self.apogee_client,
            moodle=self.moodle,
            settings=self.settings,
            should_stop=should_stop,
            progress=progress,
        )

    def add_course(self, shortname: str) -> int:
        course = self.target.add_course(shortname, shortname, 1)
        self.target.add_instance(course.id, "manual")
        return course.id

    def add_student(self, cod_etu: str) -> int:
        user = self.target.add_user(
            f"u{cod_etu}",
            "Prénom",
            f"Nom{cod_etu}",
            f"{cod_etu}@etu.example.edu",
            idnumber=cod_etu,
        )
        return user.id

    def writes(self) -> dict[str, int]:
        """Rows sent to every Moodle write function since the last reset."""
        counters = self.sim.counters("target")
        return {name: c["rows"] for name, c in counters.items() if not name.startswith(READS)}


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    sim = SimMoodle()
    target = merged_platform(sim)
    apogee = FakeApogee()
    db = Database(database_url)
    await db.create_all(metadata)
    settings = Settings(
        environment="test",
        database_url=database_url,
        database_create_tables=True,
        moodle_concurrency=2,
    )
    moodle_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_sim_app(sim)), base_url="http://sim"
    )
    apogee_http = httpx.AsyncClient(transport=apogee.transport(), base_url="http://apogee")
    async with moodle_http, apogee_http:
        yield World(
            sim=sim,
            target=target,
            apogee=apogee,
            db=db,
            apogee_client=ApogeeClient(http=apogee_http, token="demo-service"),
            moodle=MoodleClient(base_url="http://sim/target", token=TOKEN, http=moodle_http),
            settings=settings,
        )
    await db.dispose()


@pytest.fixture
async def api(world: World) -> AsyncIterator[Api]:
    async with world.running_api() as running:
        yield running
