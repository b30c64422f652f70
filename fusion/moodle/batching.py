"""Batches that fit under ``max_input_vars`` and bisection of all-or-nothing write calls.

Moodle runs each write call in one transaction: one bad row rolls back the whole call. Sending
the batch again in halves isolates the bad rows in about ``2·log2(n)`` extra calls per bad row,
and every good row ends up applied. Call-level errors (bad token, function not in the service,
Moodle down) are the same for every row, so they stop the batch instead of being bisected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fusion.moodle.encoding import HEADER_FIELDS
from fusion.moodle.errors import MoodleError, MoodleRequestTooLarge

Row = TypeVar("Row")


@dataclass
class BatchResult(Generic[Row]):
    applied: list[Row] = field(default_factory=list)
    failed: list[tuple[Row, MoodleError]] = field(default_factory=list)
    calls: int = 0
    # What Moodle returned for the applied rows, in their order (created ids, link statuses).
    returned: list[Any] = field(default_factory=list)

    def merge(self, other: BatchResult[Row]) -> None:
        self.applied.extend(other.applied)
        self.failed.extend(other.failed)
        self.calls += other.calls
        self.returned.extend(other.returned)


def plan_batches(
    rows: Sequence[Row],
    *,
    fields_per_row: Callable[[Row], int],
    max_input_vars: int,
    max_rows: int | None = None,
) -> list[list[Row]]:
    """Split ``rows`` so that header + fields of every batch stays within ``max_input_vars``."""
    budget = max_input_vars - HEADER_FIELDS
    batches: list[list[Row]] = []
    current: list[Row] = []
    used = 0
    for row in rows:
        size = fields_per_row(row)
        if size > budget:
            raise MoodleRequestTooLarge(
                f"one row needs {size} fields, more than max_input_vars allows ({budget})",
                message_fr=f"Une ligne demande {size} champs, plus que max_input_vars ({budget}).",
            )
        full = used + size > budget or (max_rows is not None and len(current) >= max_rows)
        if current and full:
            batches.append(current)
            current, used = [], 0
        current.append(row)
        used += size
    if current:
        batches.append(current)
    return batches


Send = Callable[[Sequence[Row]], Awaitable[object]]


async def apply_bisecting(batch: Sequence[Row], *, send: Send[Row]) -> BatchResult[Row]:
    """Send ``batch``; when Moodle rejects it for a row-level reason, retry each half."""
    result: BatchResult[Row] = BatchResult()
    await _apply(list(batch), send=send, result=result)
    return result


async def _apply(batch: list[Row], *, send: Send[Row], result: BatchResult[Row]) -> None:
    result.calls += 1
    try:
        await send(batch)
    except MoodleError as error:
        if error.call_level:
            raise
        if len(batch) == 1:
            result.failed.append((batch[0], error))
            return
        middle = len(batch) // 2
        await _apply(batch[:middle], send=send, result=result)
        await _apply(batch[middle:], send=send, result=result)
    else:
        result.applied.extend(batch)
