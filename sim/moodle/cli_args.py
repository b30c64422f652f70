"""Moodle's ``cli_get_params`` for the stand-ins, plus where the simulator runs.

The stand-ins reach the running simulator through its private ``/{platform}/_sim/`` endpoints;
they find it with ``--sim-url`` / ``--platform`` or the environment variables
``FUSION_SIM_MOODLE_URL`` and ``FUSION_SIM_MOODLE_PLATFORM``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from sim.moodle.releases import MOODLE_41, RELEASES, Release

SIM_OPTIONS = ("sim-url", "platform")


@dataclass(frozen=True)
class CliArgs:
    options: dict[str, str]
    unrecognised: list[str]
    sim_url: str
    platform: str


def parse(argv: Sequence[str], *, known: Sequence[str], short: dict[str, str]) -> CliArgs:
    options: dict[str, str] = {}
    unrecognised: list[str] = []
    for arg in argv:
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
        elif arg.startswith("-") and arg[1:].partition("=")[0] in short:
            key, _, value = arg[1:].partition("=")
            name = short[key]
        else:
            unrecognised.append(arg)
            continue
        if name in known or name in SIM_OPTIONS:
            options[name] = value if value else "1"
        else:
            unrecognised.append(arg)
    sim_url = options.pop("sim-url", os.environ.get("FUSION_SIM_MOODLE_URL", ""))
    platform = options.pop("platform", os.environ.get("FUSION_SIM_MOODLE_PLATFORM", ""))
    return CliArgs(options, unrecognised, sim_url.rstrip("/"), platform)


def release_of(args: CliArgs) -> Release:
    """The simulated platform's release, for the texts that differ (help); 4.1 if unknown."""
    if not args.sim_url or not args.platform:
        return MOODLE_41
    try:
        answer = httpx.get(f"{args.sim_url}/{args.platform}/_sim/release", timeout=10.0)
        return RELEASES.get(str(answer.json().get("branch")), MOODLE_41)
    except (httpx.HTTPError, ValueError, AttributeError):
        return MOODLE_41


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def unrecognised(args: CliArgs) -> int:
    say("Unrecognised options:\n  " + " ".join(args.unrecognised) + "\nPlease use --help option.")
    return 1
