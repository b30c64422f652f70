"""``fusion bus dead-letters list|replay --queue NAME``: what support staff see of a DLQ.

Only identifiers and metadata are printed (message id, type, routing key, correlation id,
first failure, reason), never payloads: they carry students' personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

import click
from pydantic_settings import SettingsConfigDict

from fusion.bus import create_bus
from fusion.bus.base import Bus, BusError, DeadLetter
from fusion.bus.memory import MemoryBus
from fusion.cli_kit import CONTEXT, EXIT_CODES_HELP, run_command
from fusion.settings import BusFragment, LayeredSettings
from fusion.settings_errors import load_settings

MAX_LIMIT = 10_000


class BusAdminSettings(LayeredSettings, BusFragment):
    """The shared bus settings, read from ``FUSION_BUS_URL`` and ``FUSION_BUS_EXCHANGE``."""

    model_config = SettingsConfigDict(env_prefix="FUSION_", extra="ignore", env_file=".env")


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


@dataclass(frozen=True)
class DeadLetterCommand:
    action: Literal["list", "replay"]
    queue: str
    limit: int = 100


async def run(args: DeadLetterCommand, *, bus: Bus, out: TextIO, err: TextIO) -> int:
    """Run one command on a bus that is not started yet; the exit status."""
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


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
def bus() -> None:
    """Bus administration: list or replay dead letters."""


@bus.command("dead-letters", epilog=EXIT_CODES_HELP)
@click.argument("action", type=click.Choice(["list", "replay"]))
@click.option("--queue", required=True, help="the consumer's queue (not its .dlq)")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=100, help="letters at most")
@click.pass_obj
def dead_letters(
    obj: _Streams | None, action: Literal["list", "replay"], queue: str, limit: int
) -> int:
    """Inspect (list) or re-publish (replay) a queue's dead letters; never their payloads."""
    out, err = (obj.out, obj.err) if obj else (sys.stdout, sys.stderr)
    settings = load_settings(BusAdminSettings)
    bus = create_bus(settings.bus_url.get_secret_value(), exchange=settings.bus_exchange)
    return asyncio.run(run(DeadLetterCommand(action, queue, limit), bus=bus, out=out, err=err))


@dataclass(frozen=True)
class _Streams:
    out: TextIO
    err: TextIO


def main(argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    streams = _Streams(out or sys.stdout, err or sys.stderr)
    with contextlib.redirect_stderr(streams.err):
        return run_command(bus, list(argv), prog="fusion bus", obj=streams)
