"""``fusion bus dead-letters list|replay --queue NAME``: what support staff see of a DLQ.

Only identifiers and metadata are printed (message id, type, routing key, correlation id,
first failure, reason), never payloads: they carry students' personal data.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from fusion.bus import create_bus
from fusion.bus.base import Bus, BusError, DeadLetter
from fusion.bus.memory import MemoryBus
from fusion.settings import BusFragment

MAX_LIMIT = 10_000


class BusAdminSettings(BusFragment):
    """The shared bus settings, read from ``FUSION_BUS_URL`` and ``FUSION_BUS_EXCHANGE``."""

    model_config = SettingsConfigDict(env_prefix="FUSION_", extra="ignore")


def describe(letter: DeadLetter) -> str:
    envelope = letter.parsed()
    failed = letter.first_failed_at.isoformat() if letter.first_failed_at else "unknown"
    if envelope is None:
        return (
            f"id=? type=? routing_key={letter.routing_key or '?'} first_failed_at={failed} "
            f"reason={letter.reason or '?'} (not a Fusion envelope, {len(letter.body)} bytes)"
        )
    return (
        f"id={envelope.message_id} type={envelope.type} "
        f"routing_key={letter.routing_key or envelope.type} "
        f"correlation_id={envelope.correlation_id} first_failed_at={failed} "
        f"reason={letter.reason or '?'}"
    )


async def list_letters(bus: Bus, *, queue: str, limit: int, out: TextIO) -> None:
    letters = await bus.peek_dead_letters(queue, limit=limit)
    for letter in letters:
        print(describe(letter), file=out)
    print(
        f"{len(letters)} dead letter(s) shown for {queue} (limit {limit}); none removed", file=out
    )


async def replay_letters(bus: Bus, *, queue: str, limit: int, out: TextIO) -> None:
    replay = await bus.replay_dead_letters(queue, limit=limit)
    for letter in replay.replayed:
        print(f"replayed {describe(letter)}", file=out)
    for letter in replay.left:
        print(f"left {describe(letter)}", file=out)
    print(
        f"{len(replay.replayed)} replayed to {queue}, {len(replay.left)} left in its DLQ", file=out
    )


async def run(args: argparse.Namespace, *, bus: Bus, out: TextIO, err: TextIO) -> int:
    """Run one parsed command on a bus that is not started yet; the exit status."""
    if isinstance(bus, MemoryBus):
        print(
            "the in-process bus lives inside `fusion run`: set FUSION_BUS_URL to the broker",
            file=err,
        )
        return 2
    action = list_letters if args.action == "list" else replay_letters
    try:
        async with bus:
            await action(bus, queue=args.queue, limit=args.limit, out=out)
    except BusError as error:
        print(f"fusion bus dead-letters {args.action}: {error}", file=err)
        return 1
    return 0


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}")
    return value


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion bus", description="Bus administration")
    groups = parser.add_subparsers(dest="group", required=True)
    dead = groups.add_parser("dead-letters", help="inspect or replay a queue's dead letters")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("--queue", required=True, help="the consumer's queue (not its .dlq)")
    dead.add_argument("--limit", type=_limit, default=100)
    return parser


def main(argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(list(argv))
    try:
        settings = BusAdminSettings()
    except ValidationError as error:
        print(f"fusion bus: invalid settings\n{error}", file=err)
        return 2
    bus = create_bus(settings.bus_url.get_secret_value(), exchange=settings.bus_exchange)
    return asyncio.run(run(args, bus=bus, out=out, err=err))
