"""``apogee generate --scale demo|ub --database URL [--seed N] [--year Y]``."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence

from sim.apogee.generator import DEFAULT_SEED, DEFAULT_YEAR, generate
from sim.apogee.scales import SCALES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apogee", description="Synthetic Apogée database.")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="(re)create the Apogée tables and fill them")
    gen.add_argument("--scale", choices=sorted(SCALES), default="demo")
    gen.add_argument("--database", required=True,
                     help="async URL: postgresql+asyncpg://… or sqlite+aiosqlite:///…")
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    gen.add_argument("--year", type=int, default=DEFAULT_YEAR,
                     help="the year open for enrolment (the previous one is generated too)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    counts = asyncio.run(generate(args.database, scale=args.scale, year=args.year,
                                  seed=args.seed))
    for table, count in counts.items():
        print(f"{table:24} {count:>10,}")
    print(f"generated scale={args.scale} year={args.year} seed={args.seed} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
