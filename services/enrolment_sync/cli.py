"""``fusion sync run [--full] [--dry-run] [--course ID] [--force]`` and ``fusion sync resume ID``.

Settings come from the environment (``FUSION_SYNC_*``), as for the service.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

import httpx
from sqlalchemy import select
from sqlmodel import col

from fusion.errors import FusionError
from fusion.runtime import Seams
from services.enrolment_sync.models import RunCourse, SyncRun
from services.enrolment_sync.runs import check_resumable, create_run, get_run
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.state import SyncState, open_standalone

BAR_WIDTH = 30
Transports = tuple[httpx.AsyncBaseTransport | None, httpx.AsyncBaseTransport | None]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="fusion sync", description="Apogée → Moodle enrolments")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="plan and apply a run now")
    run.add_argument("--full", action="store_true", help="ignore ETags: recompute every course")
    run.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    run.add_argument("--course", type=int, metavar="ID", help="one course and its meta children")
    run.add_argument("--force", action="store_true", help="apply even where the safeguard stops")
    run.add_argument("--verify", action="store_true", help="check the ledger against Moodle")
    resume = commands.add_parser("resume", help="resume a stopped or failed run")
    resume.add_argument("run_id", type=int)
    return root


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    transports: Transports | None = None,
) -> int:
    """``transports`` (Apogée, Moodle) are the tests' seam; by default the URLs in settings."""
    args = list(sys.argv[1:] if argv is None else argv)
    options = parser().parse_args(args[1:] if args[:1] == ["sync"] else args)
    try:
        run = asyncio.run(_main(options, settings or Settings(), transports or (None, None)))
    except FusionError as error:
        sys.stderr.write(f"{error.message_fr}\n{error.message}\n")
        return 2
    return 0 if run.status in ("completed", "previewed") else 1


async def _main(options: argparse.Namespace, settings: Settings, transports: Transports) -> SyncRun:
    apogee, moodle = transports
    seams = Seams(transports={k: t for k, t in (("apogee", apogee), ("moodle", moodle)) if t})
    async with open_standalone(settings, seams=seams) as services:
        if options.command == "resume":
            run_id = options.run_id
            async with services.database.session() as session:
                check_resumable(await get_run(session, run_id))
        else:
            run_id = await _create(services, options)
        run = await services.execute(run_id, progress=ProgressBar(sys.stderr))
        sys.stderr.write("\n")
        await report(services, run, out=sys.stdout)
        return run


async def _create(services: SyncState, options: argparse.Namespace) -> int:
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
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.out.write(f"\r[{bar}] {done}/{total} batches")
        self.out.flush()


async def report(services: SyncState, run: SyncRun, *, out: TextIO) -> None:
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
    out.write(f"run {run.id} ({run.kind}{', dry run' if run.dry_run else ''}): {run.status}\n")
    for name, value in sorted(run.counts.items()):
        out.write(f"  {name}: {value}\n")
    for warning in run.warnings:
        out.write(f"  warning: {warning}\n")
    for course in blocked:
        out.write(f"  course {course.course_id} {course.status}: {course.reason_fr or ''}\n")
    if run.error:
        out.write(f"  error: {run.error}\n")
