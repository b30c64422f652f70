"""``fusion sync run [--full] [--dry-run] [--course ID] [--force]`` and ``fusion sync resume ID``.

Settings come from the environment (``FUSION_SYNC_*``), as for the service.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlmodel import col

from fusion.cli_kit import CONTEXT, EXIT_CODES_HELP, json_option, run_command
from fusion.runtime import Seams
from fusion.settings_errors import load_settings
from services.enrolment_sync.models import RunCourse, SyncRun
from services.enrolment_sync.runs import check_resumable, create_run, get_run
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.state import SyncState, open_standalone

Transports = tuple[httpx.AsyncBaseTransport | None, httpx.AsyncBaseTransport | None]


@dataclass(frozen=True)
class _Seams:
    settings: Settings | None = None
    transports: Transports | None = None


@dataclass(frozen=True)
class RunOptions:
    command: str
    full: bool = False
    dry_run: bool = False
    course: int | None = None
    force: bool = False
    verify: bool = False
    run_id: int | None = None
    as_json: bool = False


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
def sync() -> None:
    """Apogée → Moodle enrolments, from the command line (settings as for the service)."""


@sync.command("run", epilog=EXIT_CODES_HELP)
@click.option("--full", is_flag=True, help="ignore ETags: recompute every course")
@click.option("--dry-run", is_flag=True, help="show what would change, write nothing")
@click.option(
    "--course", type=click.IntRange(min=1), metavar="ID", help="one course and its meta children"
)
@click.option("--force", is_flag=True, help="apply even where the safeguard stops")
@click.option("--verify", is_flag=True, help="check the ledger against Moodle")
@json_option
@click.pass_obj
def run_command_(seams: _Seams | None, /, **options: Any) -> int:
    """Plan and apply a run now."""
    return _execute(seams or _Seams(), RunOptions("run", **options))


@sync.command("resume", epilog=EXIT_CODES_HELP)
@click.argument("run_id", type=click.IntRange(min=1))
@json_option
@click.pass_obj
def resume(seams: _Seams | None, run_id: int, as_json: bool) -> int:
    """Resume a stopped or failed run."""
    return _execute(seams or _Seams(), RunOptions("resume", run_id=run_id, as_json=as_json))


def _execute(seams: _Seams, options: RunOptions) -> int:
    settings = seams.settings or load_settings(Settings)
    run = asyncio.run(_main(options, settings, seams.transports or (None, None)))
    return 0 if run.status in ("completed", "previewed") else 1


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    transports: Transports | None = None,
) -> int:
    """``transports`` (Apogée, Moodle) are the tests' seam; by default the URLs in settings."""
    args = list(sys.argv[1:] if argv is None else argv)
    args = args[1:] if args[:1] == ["sync"] else args
    return run_command(sync, args, prog="fusion sync", obj=_Seams(settings, transports))


async def _main(options: RunOptions, settings: Settings, transports: Transports) -> SyncRun:
    apogee, moodle = transports
    seams = Seams(transports={k: t for k, t in (("apogee", apogee), ("moodle", moodle)) if t})
    async with open_standalone(settings, seams=seams) as services:
        if options.run_id is not None:
            run_id = options.run_id
            async with services.database.session() as session:
                check_resumable(await get_run(session, run_id))
        else:
            run_id = await _create(services, options)
        with ProgressBar() as progress:
            run = await services.execute(run_id, progress=progress)
        await report(services, run, out=sys.stdout, as_json=options.as_json)
        return run


async def _create(services: SyncState, options: RunOptions) -> int:
    kind = "course" if options.course else "full" if options.full else "incremental"
    async with services.units() as uow:
        run = await create_run(
            uow,
            kind=kind,
            trigger="cli",
            course_id=options.course,
            dry_run=options.dry_run,
            forced=options.force,
            verify=options.verify,
        )
    assert run.id is not None
    return run.id


class ProgressBar:
    """Batches applied, as a rich progress bar on stderr (plain lines when it is not a tty)."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("lots / batches"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task("sync", total=None)

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def __call__(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=max(total, 1))


async def report(services: SyncState, run: SyncRun, *, out: TextIO, as_json: bool = False) -> None:
    async with services.database.session() as session:
        run = await get_run(session, run.id or 0)
        blocked = (
            (
                await session.execute(
                    select(RunCourse)
                    .where(
                        col(RunCourse.run_id) == run.id,
                        col(RunCourse.status).in_(("blocked", "failed")),
                    )
                    .order_by(col(RunCourse.course_id))
                    .limit(20)
                )
            )
            .scalars()
            .all()
        )
    if as_json:
        summary = {
            "id": run.id,
            "kind": run.kind,
            "dry_run": run.dry_run,
            "status": run.status,
            "counts": run.counts,
            "warnings": run.warnings,
            "courses": [
                {"course_id": c.course_id, "status": c.status, "reason_fr": c.reason_fr}
                for c in blocked
            ],
            "error": run.error,
        }
        out.write(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    out.write(f"run {run.id} ({run.kind}{', dry run' if run.dry_run else ''}): {run.status}\n")
    for name, value in sorted(run.counts.items()):
        out.write(f"  {name}: {value}\n")
    for warning in run.warnings:
        out.write(f"  warning: {warning}\n")
    for course in blocked:
        out.write(f"  course {course.course_id} {course.status}: {course.reason_fr or ''}\n")
    if run.error:
        out.write(f"  error: {run.error}\n")
