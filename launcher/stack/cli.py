"""``fusion stack up|down|stop``: the distributed mode on this machine (``make stack``)."""

from __future__ import annotations

from pathlib import Path

import click

from launcher.stack import lifecycle
from launcher.stack.processes import StackError
from launcher.stack.topology import StackConfig

_directory = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/stack"),
    show_default=True,
    help="where the stack keeps its pid files, logs, nginx configuration and tokens",
)
_name = click.option(
    "--name",
    default="fusion_stack",
    show_default=True,
    help="prefix of its PostgreSQL databases, its RabbitMQ virtual host and queue names",
)


@click.group(help="The distributed mode on this machine: one process per service, nginx in front.")
def stack() -> None:
    pass


@stack.command(help="Start the stack (PostgreSQL and RabbitMQ must be running).")
@_directory
@_name
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8088,
    show_default=True,
    help="nginx's port on 127.0.0.1",
)
@click.option(
    "--postgres",
    default=StackConfig.postgres_dsn,
    show_default=True,
    help="the PostgreSQL server where the stack creates its databases",
)
@click.option(
    "--amqp",
    default=StackConfig.amqp_url,
    show_default=True,
    help="the RabbitMQ broker where the stack creates its virtual host",
)
def up(directory: Path, name: str, port: int, postgres: str, amqp: str) -> None:
    config = StackConfig(directory, port, name, postgres, amqp)
    try:
        state = lifecycle.up(config)
    except StackError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Fusion stack on {state['url']}  ({len(state['processes'])} processes)")  # type: ignore[arg-type]
    click.echo(f"Prometheus: {state['prometheus'] or 'not installed (Debian package prometheus)'}")
    click.echo(f"tokens (admin, service, plugin): {directory / 'tokens.json'}")
    click.echo(f"logs: {directory / 'logs'}   stop: make stack-down")


@stack.command(help="Stop exactly what `up` started (its pid files).")
@_directory
@_name
@click.option("--purge", is_flag=True, help="also drop its databases and virtual host")
def down(directory: Path, name: str, purge: bool) -> None:
    try:
        stopped = lifecycle.down(StackConfig(directory, name=name), purge=purge)
    except StackError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack.command(help="Stop one process of the running stack, e.g. apogee_api-1.")
@_directory
@click.argument("process")
def stop(directory: Path, process: str) -> None:
    try:
        was_running = lifecycle.stop_one(StackConfig(directory), process)
    except StackError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"{process}: {'stopped' if was_running else 'was not running'}")
