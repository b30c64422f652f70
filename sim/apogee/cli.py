"""``fusion apogee generate --scale demo|ub --database URL [--seed N] [--year Y] [--json]``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import click
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from fusion.cli_kit import CONTEXT, EXIT_CODES_HELP, echo_json, fail, json_option, run_command
from sim.apogee.generator import DEFAULT_SEED, DEFAULT_YEAR
from sim.apogee.generator import generate as generate_database
from sim.apogee.scales import SCALES

SUPPORTED_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")


def _unsupported(url: str) -> str | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"not a database URL: {url!r}"
    if parsed.drivername not in SUPPORTED_DRIVERS:
        return f"use one of {', '.join(SUPPORTED_DRIVERS)}, not {parsed.drivername!r}"
    return None


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
def apogee() -> None:
    """A synthetic Apogée database (development and benchmarks)."""


@apogee.command(epilog=EXIT_CODES_HELP)
@click.option("--scale", type=click.Choice(sorted(SCALES)), default="demo", help="how big")
@click.option(
    "--database", required=True, help="async URL: postgresql+asyncpg://… or sqlite+aiosqlite:///…"
)
@click.option("--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same data")
@click.option(
    "--year",
    type=click.IntRange(1990, 2100),
    default=DEFAULT_YEAR,
    help="the year open for enrolment (the previous one is generated too)",
)
@json_option
def generate(scale: str, database: str, seed: int, year: int, as_json: bool) -> None:
    """(Re)create the Apogée tables and fill them."""
    problem = _unsupported(database)
    if problem:
        raise fail(f"apogee generate: {problem}")
    started = time.perf_counter()
    try:
        with Console(stderr=True).status(f"generating scale={scale} …"):
            counts = asyncio.run(generate_database(database, scale=scale, year=year, seed=seed))
    except (OSError, SQLAlchemyError) as error:  # unreachable server, unknown database ...
        raise fail(f"apogee generate: cannot load the database: {error}") from None
    seconds = round(time.perf_counter() - started, 1)
    if as_json:
        echo_json({"scale": scale, "year": year, "seed": seed, "seconds": seconds, "rows": counts})
        return
    for table, count in counts.items():
        click.echo(f"{table:24} {count:>10,}")
    click.echo(f"generated scale={scale} year={year} seed={seed} in {seconds} s")


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(apogee, argv, prog="fusion apogee")


if __name__ == "__main__":
    raise SystemExit(main())
