"""``apogee generate --scale demo|ub --database URL [--seed N] [--year Y]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from sim.apogee.generator import DEFAULT_SEED, DEFAULT_YEAR, generate
from sim.apogee.scales import SCALES

SUPPORTED_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apogee", description="Synthetic Apogée database.")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="(re)create the Apogée tables and fill them")
    gen.add_argument("--scale", choices=sorted(SCALES), default="demo")
    gen.add_argument(
        "--database",
        required=True,
        help="async URL: postgresql+asyncpg://… or sqlite+aiosqlite:///…",
    )
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    gen.add_argument(
        "--year",
        type=int,
        default=DEFAULT_YEAR,
        help="the year open for enrolment (the previous one is generated too)",
    )
    return parser


def _unsupported(url: str) -> str | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"not a database URL: {url!r}"
    if parsed.drivername not in SUPPORTED_DRIVERS:
        return f"use one of {', '.join(SUPPORTED_DRIVERS)}, not {parsed.drivername!r}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    problem = _unsupported(args.database)
    if problem:
        print(f"apogee generate: {problem}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        counts = asyncio.run(
            generate(args.database, scale=args.scale, year=args.year, seed=args.seed)
        )
    except (OSError, SQLAlchemyError) as error:  # unreachable server, unknown database ...
        print(f"apogee generate: cannot load the database: {error}", file=sys.stderr)
        return 2
    for table, count in counts.items():
        print(f"{table:24} {count:>10,}")
    print(
        f"generated scale={args.scale} year={args.year} seed={args.seed} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
