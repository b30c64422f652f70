"""Running workers: subscribed to their queue on the bus, talking to the orchestrator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from fusion.bus import Bus, QueueSpec
from fusion.contracts import RunBackup, RunRestore
from fusion.http import create_http_client
from fusion.resources import open_bus
from fusion.settings import BusFragment, MoodlePlatform
from fusion.tasks import StopSignal
from services.migration_orchestrator.workers.backup import BackupWorker
from services.migration_orchestrator.workers.link import OrchestratorLink
from services.migration_orchestrator.workers.restore import RestoreWorker
from services.migration_orchestrator.workers.settings import WorkerSettings


def backup_queue(platform: MoodlePlatform, settings: BusFragment) -> QueueSpec:
    # Prefetch = the platform's concurrency: more tokens held would only wait on a slot.
    return QueueSpec(
        name=f"{settings.bus_queue_prefix}migration_orchestrator.backup.{platform.name}",
        bindings=(RunBackup.binding(platform.name),),
        delivery_limit=settings.bus_delivery_limit,
        prefetch=platform.concurrency,
    )


def restore_queue(settings: WorkerSettings) -> QueueSpec:
    return QueueSpec(
        name=f"{settings.bus_queue_prefix}migration_orchestrator.restore",
        bindings=(RunRestore.type,),
        delivery_limit=settings.bus_delivery_limit,
        prefetch=settings.restore_concurrency,
    )


def platform_named(settings: WorkerSettings, name: str) -> MoodlePlatform:
    for platform in settings.platforms:
        if platform.name == name:
            return platform
    raise ValueError(f"platform {name!r} is not configured (FUSION_WORKER_PLATFORMS)")


@asynccontextmanager
async def orchestrator_link(
    settings: WorkerSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[OrchestratorLink]:
    headers = {"Authorization": f"Bearer {settings.orchestrator_token.get_secret_value()}"}
    async with create_http_client(
        settings, base_url=settings.orchestrator_url, headers=headers, transport=transport
    ) as http:
        yield OrchestratorLink(
            http=http, worker=settings.name, patience=settings.orchestrator_patience_seconds
        )


async def start_backup_worker(
    bus: Bus, settings: WorkerSettings, link: OrchestratorLink, platform: str
) -> BackupWorker:
    config = platform_named(settings, platform)
    worker = BackupWorker(
        platform=config,
        link=link,
        work_dir=settings.work_dir,
        busy_poll_seconds=settings.busy_poll_seconds,
    )
    await bus.subscribe(backup_queue(config, settings), worker.handle)
    return worker


async def start_restore_worker(
    bus: Bus, settings: WorkerSettings, link: OrchestratorLink
) -> RestoreWorker:
    config = platform_named(settings, settings.target_platform)
    worker = RestoreWorker(platform=config, link=link, work_dir=settings.work_dir)
    await bus.subscribe(restore_queue(settings), worker.handle)
    return worker


async def run_inprocess_workers(state: Any, stop: StopSignal) -> None:
    """Workers inside the orchestrator's process (the all-in-one mode): the same code, on a bus
    connection of their own (the shared in-process bus there), and the orchestrator's API over
    loopback HTTP, exactly as a remote worker uses it."""
    settings = state.orchestrator.settings
    worker = WorkerSettings(
        environment=settings.environment,
        platforms=settings.platforms,
        bus_url=settings.bus_url,
        bus_exchange=settings.bus_exchange,
        bus_queue_prefix=settings.bus_queue_prefix,
        orchestrator_url=settings.workers_orchestrator_url,
        orchestrator_token=settings.apogee_token,
        name="inprocess",
        work_dir=settings.workers_dir,
        target_platform=settings.target_platform,
    )
    async with open_bus(worker) as bus, orchestrator_link(worker) as link:
        for platform in settings.inprocess_workers:
            await start_backup_worker(bus, worker, link, platform)
        await start_restore_worker(bus, worker, link)
        await stop.wait()
