"""``fusion sim ...``: the development stand-ins."""

from __future__ import annotations

from collections.abc import Sequence

import click

from fusion.cli_kit import CONTEXT, EXIT_CODES_HELP, run_command
from sim.moodle.cli import moodle


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
def sim() -> None:
    """Development stand-ins: the Moodle simulator."""


sim.add_command(moodle)


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(sim, argv, prog="fusion sim")
