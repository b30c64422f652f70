"""``fusion sim moodle [--scenario demo|moodle-golden] [--port N] [--host 127.0.0.1]``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from fusion.cli_kit import CONTEXT, EXIT_CODES_HELP, run_command
from sim.moodle.app import create_sim_app
from sim.moodle.demo import DEMO_BACKUPS, demo_banner, seed_demo
from sim.moodle.golden import GOLDEN_PLATFORM, GOLDEN_TOKEN, seed_golden
from sim.moodle.state import SimMoodle

DEFAULT_FIXTURES = DEMO_BACKUPS


@click.command(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.option(
    "--scenario",
    type=click.Choice(["demo", "moodle-golden"]),
    default="demo",
    help="the demo platforms, or the recorded Moodle 4.1 site of the golden replays",
)
@click.option("--host", default="127.0.0.1", help="address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=8081, help="port to listen on")
@click.option(
    "--fixtures",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=DEFAULT_FIXTURES,
    show_default="the backups shipped with the simulator",
    help="folder of real .mbz files the demo courses back up to",
)
def moodle(scenario: str, host: str, port: int, fixtures: Path) -> None:
    """Serve the Moodle simulator alone."""
    import uvicorn

    base = f"http://{host}:{port}"
    sim = SimMoodle()
    if scenario == "moodle-golden":
        seed_golden(sim, wwwroot=base)
        app = create_sim_app(sim, root_platform=GOLDEN_PLATFORM)
        click.echo(f"moodle-golden at {base}/webservice/rest/server.php  token {GOLDEN_TOKEN}")
    else:
        seed_demo(sim, base_url=base, fixtures=fixtures)
        app = create_sim_app(sim)
        click.echo(demo_banner(base))
    click.echo(
        f"CLI stand-ins: FUSION_SIM_MOODLE_URL={base} python -m sim.moodle.cli_backup "
        "--platform=<platform> --courseid=N --destination=DIR"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(moodle, argv, prog="fusion sim moodle")
