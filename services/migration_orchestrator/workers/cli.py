"""``fusion worker backup --platform ub2`` and ``fusion worker restore``."""

from __future__ import annotations

import asyncio
import signal
import sys

import click
from pydantic import ValidationError

from fusion.observability import configure_logging
from fusion.resources import open_bus
from services.migration_orchestrator.workers.runtime import (
    orchestrator_link,
    platform_named,
    start_backup_worker,
    start_restore_worker,
)
from services.migration_orchestrator.workers.settings import WorkerSettings


def _settings() -> WorkerSettings:
    try:
        return WorkerSettings()
    except ValidationError as error:
        click.echo(f"fusion worker: invalid settings\n{error}", err=True)
        sys.exit(2)


async def _serve(settings: WorkerSettings, platform: str | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_bus(settings) as bus, orchestrator_link(settings) as link:
        if platform is None:
            await start_restore_worker(bus, settings, link)
        else:
            await start_backup_worker(bus, settings, link, platform)
        click.echo(f"worker {settings.name} ready", err=True)
        await stop.wait()


@click.group(help="Platform workers: run Moodle's backup and restore CLI beside each Moodle.")
def worker() -> None:
    pass


@worker.command(help="Back up courses of one source platform, as its queue asks.")
@click.option("--platform", required=True, help="a platform of FUSION_WORKER_PLATFORMS")
def backup(platform: str) -> None:
    settings = _settings()
    try:
        platform_named(settings, platform)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    configure_logging(level=settings.log_level, json_logs=settings.log_json)
    asyncio.run(_serve(settings, platform))


@worker.command(help="Restore backups onto the target platform.")
def restore() -> None:
    settings = _settings()
    try:
        platform_named(settings, settings.target_platform)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    configure_logging(level=settings.log_level, json_logs=settings.log_json)
    asyncio.run(_serve(settings, None))


def main(argv: list[str]) -> int:
    try:
        worker.main(args=argv, prog_name="fusion worker", standalone_mode=False)
    except click.UsageError as error:
        error.show()
        return 2
    except click.Abort:
        return 1
    return 0
