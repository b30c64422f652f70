"""One migration world for a test: the simulator served on a loopback port (the CLI stand-ins
reach it over HTTP, as php reaches its database), the real apogee_api, the orchestrator, and
platform workers in this process, all on one bus."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from fusion.asgi import HostedApp
from fusion.bus import Bus
from fusion.settings import MoodlePlatform
from fusion.testing.serving import serving
from services.apogee_api.app import create_app as create_apogee
from services.apogee_api.settings import Settings as ApogeeSettings
from services.migration_orchestrator.app import create_app
from services.migration_orchestrator.services import Transports
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.workers.runtime import (
    orchestrator_link,
    start_backup_worker,
    start_restore_worker,
)
from services.migration_orchestrator.workers.settings import WorkerSettings
from sim.apogee.load import load_dataset
from sim.moodle.app import create_sim_app
from sim.moodle.demo import DEMO_TOKENS, seed_demo
from sim.moodle.state import SimMoodle
from tests.apogee_api.tiny import tiny_apogee

from .identity_double import restore_check_transport

ADMIN = {"Authorization": "Bearer demo-admin"}


def teacher(username: str) -> dict[str, str]:
    return {"Authorization": "Bearer demo-plugin", "X-Fusion-Acting-User": username}


def platforms(
    sim_url: str, *, concurrency: int = 2, backup_command: str | None = None
) -> list[MoodlePlatform]:
    result = []
    for name, token in DEMO_TOKENS.items():
        stand_in = f"{sys.executable} -m sim.moodle.cli_{{}} --sim-url={sim_url} --platform={name} "
        result.append(
            MoodlePlatform(
                name=name,
                url=f"{sim_url}/{name}",
                token=SecretStr(token),
                backup_command=backup_command
                or stand_in.format("backup") + "--courseid={courseid} --destination={destination}",
                restore_command=stand_in.format("restore")
                + "--file={file} --categoryid={categoryid}",
                concurrency=concurrency,
                cli_timeout_seconds=120,
                # the demo target's courses have Moodle 4.5's welcome message turned off
                welcome_messages_off=name == "target",
            )
        )
    return result


def one_slot(sim_url: str) -> list[MoodlePlatform]:
    """The platforms with one backup at a time each: the order of the claims is the order of
    the starts, and a second claim finds its platform busy."""
    return platforms(sim_url, concurrency=1)


@dataclass
class World:
    sim: SimMoodle
    sim_url: str
    client: httpx.AsyncClient
    settings: Settings
    app: HostedApp
    stack: AsyncExitStack
    bus: Bus

    def worker_settings(self, **overrides: Any) -> WorkerSettings:
        values: dict[str, Any] = {
            "environment": "test",
            "platforms": self.settings.platforms,
            "work_dir": self.settings.store_dir.parent / "worker",
            "busy_poll_seconds": 0.05,
            "orchestrator_patience_seconds": 30,
        }
        return WorkerSettings(**(values | overrides))

    async def start_workers(self, *platforms: str, **overrides: Any) -> None:
        settings = self.worker_settings(**overrides)
        link = await self.stack.enter_async_context(
            orchestrator_link(settings, transport=httpx.ASGITransport(app=self.app))
        )
        for platform in platforms:
            await start_backup_worker(self.bus, settings, link, platform)
        await start_restore_worker(self.bus, settings, link)


@asynccontextmanager
async def migration_world(
    database_url: str,
    tmp_path: Path,
    *,
    bus: Bus,
    platforms_for: Callable[[str], list[MoodlePlatform]] = platforms,
    **overrides: Any,
) -> AsyncIterator[World]:
    sim = SimMoodle()
    sim_app = create_sim_app(sim)
    async with AsyncExitStack() as stack:
        sim_url = await stack.enter_async_context(serving(sim_app))
        seed_demo(sim, base_url=sim_url)
        apogee_url = f"sqlite+aiosqlite:///{tmp_path / 'apogee.db'}"
        await load_dataset(apogee_url, tiny_apogee())
        apogee = await stack.enter_async_context(
            HostedApp(
                create_apogee(
                    ApogeeSettings(database_url=apogee_url, demo_tokens=True, environment="test")
                )
            ).running()
        )
        values: dict[str, Any] = {
            "environment": "test",
            "demo_tokens": True,
            "database_url": database_url,
            "database_create_tables": True,
            "platforms": platforms_for(sim_url),
            "store_dir": tmp_path / "store",
            "lease_watch_seconds": 0.5,
        }
        settings = Settings(**(values | overrides))
        # The CLI stand-ins reach the simulator over loopback; the orchestrator's web-service
        # calls go to the same app in process, as its other upstreams do.
        transports = Transports(
            apogee=httpx.ASGITransport(app=apogee),
            identity=restore_check_transport(sim),
            moodle=httpx.ASGITransport(app=sim_app),
        )
        app = await stack.enter_async_context(
            HostedApp(create_app(settings, transports=transports, bus=bus)).running()
        )
        # The bus is the test's, so the app does not close it: its consumers would go on
        # running steps after the app has disposed of its database, and the connections they
        # open then are never closed (aiosqlite's ResourceWarning in whichever test runs next).
        # Closed before the app stops, as the runtime closes a bus of its own.
        stack.push_async_callback(bus.close)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        yield World(sim, sim_url, client, settings, app, stack, bus)
