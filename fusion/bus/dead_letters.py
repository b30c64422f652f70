"""What RabbitMQ's dead-letter headers say about a message: where it went and when it failed.

RabbitMQ records each dead-lettering in the ``x-death`` header (a list of tables, one per
queue and reason, newest first) and the first one in ``x-first-death-*`` headers. A replayed
message is published anew, so its first failure time travels in a header of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fusion.bus.base import DeadLetter

FIRST_FAILED_HEADER = "x-fusion-first-failed-at"


def dead_letter_of(body: bytes, headers: Mapping[str, Any]) -> DeadLetter:
    deaths = [entry for entry in headers.get("x-death") or [] if isinstance(entry, Mapping)]
    first = _first_death(deaths, headers.get("x-first-death-queue"))
    reason = headers.get("x-first-death-reason")
    return DeadLetter(
        body,
        routing_key=_routing_key(first),
        first_failed_at=_carried_time(headers) or _earliest(deaths),
        reason=reason if isinstance(reason, str) else None,
    )


def _first_death(deaths: list[Mapping[str, Any]], queue: Any) -> Mapping[str, Any] | None:
    matching = [entry for entry in deaths if entry.get("queue") == queue]
    return matching[-1] if matching else (deaths[-1] if deaths else None)


def _routing_key(death: Mapping[str, Any] | None) -> str | None:
    keys = death.get("routing-keys") if death is not None else None
    if isinstance(keys, list | tuple) and keys and isinstance(keys[0], str):
        return keys[0]
    return None


def _carried_time(headers: Mapping[str, Any]) -> datetime | None:
    value = headers.get(FIRST_FAILED_HEADER)
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _earliest(deaths: list[Mapping[str, Any]]) -> datetime | None:
    times = [_aware(entry["time"]) for entry in deaths if isinstance(entry.get("time"), datetime)]
    return min(times, default=None)


def _aware(moment: datetime) -> datetime:
    # AMQP timestamps are seconds since the epoch, UTC; the decoder may hand them back naive.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
