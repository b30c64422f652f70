"""``fusion identity import ...`` and ``fusion identity plan ...``, with progress bars.

Settings come from the environment (``FUSION_IDENTITY_*``), as for the service; the commands
run the service's own jobs in this process. Exit 0 when done, 1 when a job failed, 2 on bad
input (the message in French, then English).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import Progress

from fusion.cli_kit import exit_code
from fusion.errors import FusionError
from fusion.settings_errors import load_settings
from services.identity import operations
from services.identity.lifecycle import FINISHED_IMPORT, ImportState, PlanState
from services.identity.models import ImportJob, Plan
from services.identity.plan_runs import run_phase
from services.identity.resources import IdentityServices, open_standalone
from services.identity.schemas import DirectoryImportRequest, MoodleImportRequest
from services.identity.settings import Settings

POLL_SECONDS = 0.2


class _Context:
    def __init__(
        self, settings: Settings | None, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self._settings = settings
        self.transport = transport
        self.console = Console(stderr=False, highlight=False)

    @property
    def settings(self) -> Settings:
        """Read when a command runs (not for --help); refused settings exit 2 in one line."""
        if self._settings is None:
            self._settings = load_settings(Settings)
        return self._settings


def _run(ctx: click.Context, work: Callable[[IdentityServices, Console], Awaitable[int]]) -> None:
    context: _Context = ctx.obj

    async def go() -> int:
        async with open_standalone(context.settings, moodle_transport=context.transport) as s:
            return await work(s, context.console)

    try:
        code = asyncio.run(go())
    except FusionError as error:
        click.echo(f"{error.message_fr}\n{error.message}", err=True)
        ctx.exit(exit_code(error))
    ctx.exit(code)


async def _follow_import(services: IdentityServices, console: Console, job_id: int) -> int:
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("import", total=None)
        while True:
            async with services.db.session() as session:
                job = await session.get(ImportJob, job_id)
            assert job is not None
            progress.update(
                bar, completed=job.processed, description=f"{job.state} ({job.pages} pages)"
            )
            if job.state in FINISHED_IMPORT:
                break
            await asyncio.sleep(POLL_SECONDS)
    console.print(
        f"import {job.id}: {job.state} — {job.created} created, {job.updated} updated, "
        f"{job.unchanged} unchanged" + (f" ({job.error})" if job.error else "")
    )
    return 0 if job.state == ImportState.DONE else 1


async def _await_background(services: IdentityServices) -> None:
    while services.background.tasks:
        await asyncio.gather(*services.background.tasks, return_exceptions=True)


async def _import(
    services: IdentityServices,
    console: Console,
    start: Callable[[IdentityServices], Awaitable[Any]],
) -> int:
    job = await start(services)
    waiting = asyncio.create_task(_await_background(services))
    code = await _follow_import(services, console, job.id)
    await waiting
    return code


def _run_import(ctx: click.Context, start: Callable[[IdentityServices], Awaitable[Any]]) -> None:
    _run(ctx, lambda s, c: _import(s, c, start))


_platform_option = click.option(
    "--platform", required=True, help="the platform's name, as in FUSION_IDENTITY_PLATFORMS"
)


@click.group(help="Load identities and homogenise them across platforms.")
@click.pass_context
def identity(ctx: click.Context) -> None:
    if ctx.obj is None:
        ctx.obj = _Context(None, None)


@identity.group("import", help="Load accounts or the directory.")
def import_group() -> None:
    pass


@import_group.command("moodle", help="A platform's accounts through Moodle WS.")
@_platform_option
@click.pass_context
def import_moodle(ctx: click.Context, platform: str) -> None:
    _run_import(
        ctx,
        lambda s: operations.start_live_import(
            MoodleImportRequest(source="moodle_ws", platform=platform), services=s, actor="cli"
        ),
    )


@import_group.command("ldap", help="The reference directory over LDAP (paged).")
@click.pass_context
def import_ldap(ctx: click.Context) -> None:
    _run_import(
        ctx,
        lambda s: operations.start_live_import(
            DirectoryImportRequest(source="ldap"), services=s, actor="cli"
        ),
    )


@import_group.command("file", help="A CSV export of mdl_user, or the directory as LDIF or CSV.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    required=True,
    type=click.Choice(["moodle_csv", "ldif", "directory_csv"]),
    help="what the file holds",
)
@click.option("--platform", default=None, help="Needed for moodle_csv.")
@click.pass_context
def import_file(ctx: click.Context, path: Path, source: str, platform: str | None) -> None:
    data = path.read_bytes()
    _run_import(
        ctx,
        lambda s: operations.start_file_import(
            data, source=source, platform=platform, services=s, actor="cli"
        ),
    )


@identity.group("plan", help="Compute, apply or revert a homogenisation plan.")
def plan_group() -> None:
    pass


@plan_group.command("compute", help="Compute a plan for one platform and show it.")
@_platform_option
@click.pass_context
def plan_compute(ctx: click.Context, platform: str) -> None:
    async def work(s: IdentityServices, console: Console) -> int:
        plan = await operations.compute(platform, services=s)
        for step in plan.steps:
            changes = ", ".join(f"{f}: {old!r} → {new!r}" for f, (old, new) in step.values.items())
            console.print(f"  round {step.round} user {step.moodle_id} [{step.status}] {changes}")
        console.print(
            f"plan {plan.id} on {platform}: {plan.changes} change(s), {plan.blocked} blocked"
        )
        return 0

    _run(ctx, work)


async def _run_plan(s: IdentityServices, console: Console, plan_id: int, *, phase: str) -> int:
    platform, lease = await operations.begin_phase(plan_id, phase=phase, services=s, actor="cli")
    if lease is None:
        async with s.db.session() as session:
            plan = await session.get(Plan, plan_id)
        assert plan is not None
        if plan.state in (PlanState.APPLIED, PlanState.REVERTED):
            console.print(f"plan {plan_id}: {plan.state}")
            return 0
        console.print(
            f"plan {plan_id}: {plan.state}, run by {plan.lease_owner} — "
            f"en cours ailleurs / running elsewhere"
        )
        return 1
    work = asyncio.create_task(
        run_phase(
            lease=lease,
            phase=phase,
            units=s.units,
            moodle=s.moodle(platform),
            actor="cli",
            batch_size=s.settings.plan_batch_size,
            target=s.settings.target_platform,
        )
    )
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task(phase, total=None)
        while not work.done():
            async with s.db.session() as session:
                current = await session.get(Plan, plan_id)
            progress.update(bar, completed=current.applied_steps if current else 0)
            await asyncio.sleep(POLL_SECONDS)
    done = await work
    console.print(f"plan {plan_id}: {done.state}" + (f" ({done.error})" if done.error else ""))
    return 0 if done.state in (PlanState.APPLIED, PlanState.REVERTED) else 1


@plan_group.command("apply", help="Approve and apply a plan.")
@click.argument("plan_id", type=int)
@click.pass_context
def plan_apply(ctx: click.Context, plan_id: int) -> None:
    _run(ctx, lambda s, c: _run_plan(s, c, plan_id, phase="apply"))


@plan_group.command("revert", help="Revert an applied plan.")
@click.argument("plan_id", type=int)
@click.pass_context
def plan_revert(ctx: click.Context, plan_id: int) -> None:
    _run(ctx, lambda s, c: _run_plan(s, c, plan_id, phase="revert"))


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    moodle_transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    obj = _Context(settings, moodle_transport) if settings is not None else None
    try:
        code = identity.main(args=args, prog_name="fusion identity", obj=obj, standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return 2
    except click.exceptions.Abort:
        return 1
    return code if isinstance(code, int) else 0
