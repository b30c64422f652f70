"""``fusion sim moodle [--scenario demo|moodle-golden] [--port N] [--host 127.0.0.1]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from sim.moodle.app import create_sim_app
from sim.moodle.demo import DEMO_BACKUPS, demo_banner, seed_demo
from sim.moodle.golden import GOLDEN_PLATFORM, GOLDEN_TOKEN, seed_golden
from sim.moodle.state import SimMoodle

DEFAULT_FIXTURES = DEMO_BACKUPS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fusion sim moodle", description="Serve the Moodle simulator alone."
    )
    parser.add_argument("--scenario", choices=("demo", "moodle-golden"), default="demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=DEFAULT_FIXTURES,
        help="folder of real .mbz files the demo courses back up to",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    if args[:2] == ["sim", "moodle"]:
        args = args[2:]
    options = _parser().parse_args(args)
    base = f"http://{options.host}:{options.port}"
    sim = SimMoodle()
    if options.scenario == "moodle-golden":
        seed_golden(sim, wwwroot=base)
        app = create_sim_app(sim, root_platform=GOLDEN_PLATFORM)
        print(f"moodle-golden at {base}/webservice/rest/server.php  token {GOLDEN_TOKEN}")
    else:
        fixtures = options.fixtures if options.fixtures.is_dir() else None
        seed_demo(sim, base_url=base, fixtures=fixtures)
        app = create_sim_app(sim)
        print(demo_banner(base))
    print(
        f"CLI stand-ins: FUSION_SIM_MOODLE_URL={base} python -m sim.moodle.cli_backup "
        "--platform=<platform> --courseid=N --destination=DIR"
    )
    uvicorn.run(app, host=options.host, port=options.port, log_level="warning")
    return 0
