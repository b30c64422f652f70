"""The ``fusion`` command (click). Exit codes: 0 done, 1 failed, 2 bad input."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fusion.cli_kit import BAD_INPUT, CONTEXT, EXIT_CODES_HELP, echo_json, fail, json_option
from fusion.cli_kit import run_command as _run_command

if TYPE_CHECKING:
    from fusion.settings import FusionSettings
    from launcher.registry import ServiceEntry

# Command groups that live with their part of the system, imported only when used.
# To add `fusion <name> ...`, add one line: name -> "module:attribute" of a click group.
GROUPS: dict[str, str] = {
    "sim": "sim.cli:sim",
    "apogee": "sim.apogee.cli:apogee",
    "backup": "services.migration_orchestrator.preflight.cli:backup",
    "sync": "services.enrolment_sync.cli:sync",
    "bus": "fusion.bus.admin:bus",
    "worker": "services.migration_orchestrator.workers.cli:worker",
    "identity": "services.identity.cli:identity",
    "stack": "launcher.stack.cli:stack",
}
SERVICE_NAMES = ("apogee_api", "identity", "migration_orchestrator", "enrolment_sync")


def _version() -> str:
    try:
        return version("fusion")
    except PackageNotFoundError:
        return "0+unknown"


class _LazyGroups(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *GROUPS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in GROUPS:
            module, _, attribute = GROUPS[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroups, context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.version_option(_version(), "--version", prog_name="fusion")
def cli() -> None:
    """Fusion: merge historical Moodle platforms and feed the merged one from Apogée."""


PORT = click.IntRange(1, 65535)


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--host", default="127.0.0.1", help="address to listen on")
@click.option("--port", type=PORT, default=8000, help="port to listen on")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    help="where the SQLite files and the simulator's state live",
)
def run(host: str, port: int, data_dir: Path) -> None:
    """All services, the Moodle simulator and demo data in one process (development).

    The demo world starts afresh on every start: the services' databases with the in-memory
    simulator (the generated Apogée is kept)."""
    import uvicorn

    from fusion.observability import configure_logging
    from launcher.allinone import (
        RESET_NOTICE,
        AllInOne,
        build,
        prepare_demo_data,
        refuse_production,
    )
    from sim.moodle.demo import demo_banner

    refuse_production(os.environ)
    configure_logging(level="INFO", json_logs=False)
    config = AllInOne(host=host, port=port, data_dir=data_dir)
    config.reset_world()
    click.echo(RESET_NOTICE)
    asyncio.run(prepare_demo_data(config))
    click.echo(
        f"Fusion all-in-one on {config.base_url}  "
        "(demo tokens: demo-admin, demo-plugin, demo-service)"
    )
    click.echo(demo_banner(f"{config.base_url}/sim"))
    uvicorn.run(
        build(config), host=host, port=port, log_level="info", access_log=False, log_config=None
    )


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("service", type=click.Choice(SERVICE_NAMES))
@click.option("--host", default="127.0.0.1", help="address to listen on")
@click.option("--port", type=PORT, default=8000, help="port to listen on")
def serve(service: str, host: str, port: int) -> None:
    """One service, configured from the environment (distributed mode)."""
    import uvicorn

    from fusion.observability import configure_logging
    from fusion.schema_check import check_schema  # before the logging: alembic logs on import
    from fusion.settings_errors import load_settings
    from launcher.registry import SERVICES

    entry = SERVICES[service]
    settings = load_settings(entry.settings_class())
    configure_logging(level=settings.log_level, json_logs=settings.log_json)
    if (schema := _schema_to_check(entry, settings)) is not None:
        asyncio.run(check_schema(service, *schema))
    uvicorn.run(
        entry.create_app(settings),
        host=host,
        port=port,
        workers=1,
        log_level=settings.log_level.lower(),
        access_log=False,  # the kit writes one, with the correlation id (fusion.access)
        log_config=None,  # keep configure_logging's JSON handler for uvicorn's loggers
    )


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("service", type=click.Choice(SERVICE_NAMES))
@click.option("--database-url", default=None, help="instead of FUSION_<SERVICE>_DATABASE_URL")
@json_option
def migrate(service: str, database_url: str | None, as_json: bool) -> None:
    """Apply a service's database migrations (Alembic), before it starts. Reads only the
    database settings."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from fusion.alembic_env import upgrade
    from fusion.settings_errors import database_settings
    from launcher.registry import SERVICES

    entry = SERVICES[service]
    location = entry.migrations_dir()
    if location is None:
        _say(
            as_json,
            {"service": service, "migrated": False, "reason": "owns no tables"},
            f"{service} owns no tables: nothing to migrate",
        )
        return
    url = database_url or database_settings(entry.settings_class()).database_url.get_secret_value()
    try:
        upgrade(location, url)
    except (OSError, SQLAlchemyError, ArgumentError) as error:  # unreachable, refused login ...
        raise fail(
            f"fusion migrate {service}: cannot reach the database: {_first_line(error, url)}"
        ) from None
    _say(as_json, {"service": service, "migrated": True}, f"{service}: migrated to head")


@cli.group(context_settings=CONTEXT)
def token() -> None:
    """Client tokens."""


@token.command("create", epilog=EXIT_CODES_HELP)
@click.option("--client", required=True, help="who the token is for, e.g. moodle-ub1")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "service", "plugin"]),
    help="what the client may do",
)
@json_option
def token_create(client: str, role: str, as_json: bool) -> None:
    """A new token (shown once, never stored) and the hashed entry to add to FUSION_TOKENS."""
    from fusion.auth import hash_token, new_token

    secret = new_token()
    entry = {"client": client, "role": role, "sha256": hash_token(secret)}
    if as_json:
        echo_json({"token": secret, "entry": entry})
        return
    click.echo(f"token (give it to the client, it is not stored): {secret}")
    click.echo(f"add to FUSION_TOKENS: {json.dumps(entry)}")


@cli.command("settings", epilog=EXIT_CODES_HELP)
@click.option("--markdown", is_flag=True, help="the reference as Markdown (docs/settings.md)")
@json_option
def settings_reference(markdown: bool, as_json: bool) -> None:
    """Every setting: its environment variable, default and meaning."""
    from fusion.settings_reference import markdown as render
    from fusion.settings_reference import sections
    from launcher.registry import settings_classes

    classes = settings_classes()
    if markdown:
        click.echo(render(classes), nl=False)
    elif as_json:
        echo_json({title: [s.as_json() for s in rows] for title, rows in sections(classes).items()})
    else:
        for title, rows in sections(classes).items():
            click.secho(f"\n{title}", bold=True)
            for s in rows:
                required = "  [required in production]" if s.required_in_production else ""
                click.echo(f"  {s.name} = {s.default}{required}\n      {s.description}")


def _schema_to_check(entry: ServiceEntry, settings: FusionSettings) -> tuple[str, Path] | None:
    """(the database URL, the Alembic history whose head it must be at before the service is
    served: exit 1 and one message otherwise); None for a service that owns no tables or
    creates its own (all-in-one mode, tests)."""
    from fusion.settings import DatabaseFragment

    if not isinstance(settings, DatabaseFragment) or settings.database_create_tables:
        return None
    location = entry.migrations_dir()
    return None if location is None else (settings.database_url.get_secret_value(), location)


def _first_line(error: Exception, url: str) -> str:
    """The error's first line, with the URL's password (if it appears) masked."""
    from sqlalchemy.engine import make_url

    text = (str(error).splitlines() or [type(error).__name__])[0][:300]
    try:
        password = make_url(url).password
    except Exception:  # an unparsable URL has no password to hide
        password = None
    return text.replace(password, "***") if password else text


def _say(as_json: bool, value: dict[str, object], text: str) -> None:
    echo_json(value) if as_json else click.echo(text)


def main(argv: Sequence[str] | None = None) -> int:
    return _run_command(cli, argv, prog="fusion")


__all__ = ["BAD_INPUT", "GROUPS", "cli", "main"]


if __name__ == "__main__":  # `python -m launcher.cli`, as the tests start the servers
    raise SystemExit(main())
