"""``fusion sim ...``: the development stand-ins."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    if not args or args[0] not in ("moodle",):
        print("usage: fusion sim moodle [--scenario NAME] [--port N]", file=sys.stderr)
        return 2
    from sim.moodle.cli import main as moodle_main

    status: int = moodle_main(args[1:])
    return status
