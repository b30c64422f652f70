"""The platform workers of the all-in-one process: a backup worker per historical platform and
the restore worker, on the in-process bus, talking to the orchestrator over HTTP as they would
beside a real Moodle (the simulator's CLI stand-ins play Moodle's scripts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fusion.resources import open_bus
from fusion.settings import MoodlePlatform
from services.migration_orchestrator.workers.runtime import (
    orchestrator_link,
    start_backup_worker,
    start_restore_worker,
)
from services.migration_orchestrator.workers.settings import WorkerSettings


def worker_settings(
    *, base_url: str, platforms: list[MoodlePlatform], work_dir: Path, bus_url: str
) -> WorkerSettings:
    return WorkerSettings(
        environment="development",
        demo_tokens=True,
        log_json=False,
        bus_url=bus_url,
        orchestrator_url=base_url,
        orchestrator_token="demo-service",
        name="allinone",
        work_dir=work_dir,
        platforms=platforms,
        target_platform="target",
    )


@asynccontextmanager
async def running_workers(settings: WorkerSettings) -> AsyncIterator[None]:
    async with open_bus(settings) as bus, orchestrator_link(settings) as link:
        for platform in settings.platforms:
            if platform.name != settings.target_platform:
                await start_backup_worker(bus, settings, link, platform.name)
        await start_restore_worker(bus, settings, link)
        yield
