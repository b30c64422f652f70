"""Transactional outbox: messages leave only after the change that caused them is committed.

``add_to_outbox`` writes the envelope in the caller's transaction (it only flushes). The
``OutboxRelay`` publishes unsent rows with publisher confirms and marks a row sent only after
its confirm, so delivery is at least once; a failed publish is retried with an exponential
backoff. The commit of a session that staged rows wakes the relays of this process on that
table, whichever code committed it, so a message leaves right after its transaction; the poll
remains for rows staged by other processes and for retries. On PostgreSQL the rows are claimed
with ``FOR UPDATE SKIP LOCKED`` so that several replicas relay side by side without publishing
the same row at the same time.

An event no queue is bound to is confirmed by the broker and marked sent: nobody listening
to a fact is normal. A command no queue is bound to is unroutable (published ``mandatory``)
and stays pending, retried with the capped backoff: its consumer may not have started yet, and
dropping the work would be a loss. Order is kept within one relay pass, not across replicas;
consumers must not rely on it.

The relay also exports how many messages wait and how old the oldest is
(``fusion_outbox_pending_messages``, ``fusion_outbox_oldest_pending_age_seconds``), at most once
a ``measure_seconds``: the alert on a stuck outbox reads those gauges. Failures are logged one
line per kind per interval.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError
from sqlalchemy import Insert, Row, Table, delete, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fusion.bus import Bus, BusError, BusUnavailable, PoisonMessage
from fusion.bus.tables import MessagingTables, messaging_tables
from fusion.contracts import Envelope
from fusion.outage import OutageLog

__all__ = [
    "Backoff",
    "MessagingTables",
    "OutboxRelay",
    "SessionFactory",
    "add_to_outbox",
    "messaging_tables",
    "note_staged",
    "outbox_row",
    "purge_sent",
]

PUBLISHED = Counter(
    "fusion_outbox_publish_attempts_total",
    "Outbox publish attempts, by outcome (confirmed, failed).",
    ["outcome"],
)
LAG = Histogram(
    "fusion_outbox_lag_seconds",
    "Time from staging a message in the outbox to its broker confirm.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)

PENDING = Gauge(
    "fusion_outbox_pending_messages",
    "Outbox messages not yet confirmed by the broker, by service.",
    ["service"],
)
OLDEST_PENDING_AGE = Gauge(
    "fusion_outbox_oldest_pending_age_seconds",
    "Age of the oldest outbox message not yet confirmed (0 when none), by service.",
    ["service"],
)

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
_OutboxRow = Row[*tuple[Any, ...]]


def _now() -> datetime:
    return datetime.now(UTC)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@functools.cache
def _insert_into(outbox: Table) -> Insert:
    return insert(outbox)


async def add_to_outbox(session: AsyncSession, envelope: Envelope, *, outbox: Table) -> None:
    """Stage ``envelope`` in the caller's transaction; the caller's edge commits."""
    # One statement per table, parameters bound: compiled once, not rebuilt per message.
    await session.execute(_insert_into(outbox), outbox_row(envelope))
    note_staged(session, outbox)


def outbox_row(envelope: Envelope) -> dict[str, Any]:
    """The outbox row of ``envelope``, for a caller that inserts it with other writes (then
    ``note_staged``)."""
    now = _now()
    return {
        "message_id": envelope.message_id,
        "type": envelope.type,
        "envelope": envelope.model_dump_json(),
        "created_at": now,
        "available_at": now,
        "attempts": 0,
    }


def note_staged(session: AsyncSession, outbox: Table) -> None:
    """``session`` staged rows in ``outbox``: its commit wakes the relays of this process."""
    session.info.setdefault(_STAGED, set()).add(outbox)


# The tables a session staged rows in since its last commit or rollback (in ``Session.info``),
# and the running relays of each table: the commit wakes them.
_STAGED = "fusion_outbox_staged"
_relays: dict[Table, weakref.WeakSet[OutboxRelay]] = {}


def _wake_relays(session: Session) -> None:
    for table in session.info.pop(_STAGED, ()):
        for relay in list(_relays.get(table, ())):
            relay.wake()


def _forget_staged(session: Session, *_: object) -> None:
    session.info.pop(_STAGED, None)


def _listen_to_commits() -> None:
    # Registered by the first relay started, not at import.
    if not event.contains(Session, "after_commit", _wake_relays):
        event.listen(Session, "after_commit", _wake_relays)
        event.listen(Session, "after_rollback", _forget_staged)


async def purge_sent(session: AsyncSession, *, outbox: Table, older_than: timedelta) -> int:
    """Delete rows sent before ``now - older_than``; returns how many went."""
    result = await session.execute(
        delete(outbox).where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < _now() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# A generator of our own: a relay in the background must not draw from the process-wide one,
# which other code (and property-based tests) may seed or watch.
_jitter = random.Random()


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 0.5
    max_seconds: float = 60.0

    def delay(self, attempts: int) -> timedelta:
        seconds = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        # Jitter spreads the retries of many rows (and replicas) after an outage.
        return timedelta(seconds=seconds * _jitter.uniform(0.8, 1.0))


class OutboxRelay:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        bus: Bus,
        outbox: Table,
        batch_size: int = 100,
        poll_interval: float = 0.5,
        backoff: Backoff = Backoff(),
        service: str = "fusion",
        outages: OutageLog | None = None,
        measure_seconds: float = 1.0,
        gather_seconds: float = 0.02,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._outbox = outbox
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._backoff = backoff
        self._service = service
        self._outages = outages or OutageLog()
        self._measure_seconds = measure_seconds
        self._gather_seconds = gather_seconds
        self._broker_away = False
        self._measured_at = -measure_seconds
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Skip the rest of the poll interval, e.g. right after a commit that staged messages."""
        loop = self._loop
        if loop is None or _running_loop() is loop:
            self._wakeup.set()
        else:  # a commit in another thread (a synchronous session)
            with suppress(RuntimeError):  # that loop is closed: nothing left to wake
                loop.call_soon_threadsafe(self._wakeup.set)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._loop = asyncio.get_running_loop()
            _listen_to_commits()
            _relays.setdefault(self._outbox, weakref.WeakSet()).add(self)
            self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self, *, grace_seconds: float = 10.0) -> None:
        """Let the current pass finish: cancelling between a confirm and the commit that
        records it would publish those messages again after the restart."""
        task, self._task = self._task, None
        if task is None:
            return
        _relays.get(self._outbox, weakref.WeakSet()).discard(self)
        self._stopping = True
        self.wake()
        _, pending = await asyncio.wait({task}, timeout=grace_seconds)
        if pending:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.relay_once()
                if time.monotonic() - self._measured_at >= self._measure_seconds:
                    self._measured_at = time.monotonic()
                    await self.measure()
            except Exception as error:
                # The database may be down: keep polling, the rows are still there.
                self._outages.failed("outbox relay", error)
                sent = 0
            else:
                self._outages.recovered("outbox relay")
            if sent < self._batch_size and not self._stopping:
                await self._idle()

    async def relay_once(self) -> int:
        """Publish one batch of due rows; returns how many were confirmed."""
        async with self._sessions() as session:
            rows = await self._claim(session)
            if not rows:
                return 0
            outcomes = await asyncio.gather(*(self._publish(row) for row in rows))
            self._broker_away = any(isinstance(error, BusUnavailable) for error in outcomes)
            confirmed = [row for row, error in zip(rows, outcomes, strict=True) if error is None]
            await self._mark_sent(session, confirmed)
            for row, error in zip(rows, outcomes, strict=True):
                if error is not None:
                    await self._reschedule(session, row, error)
            await session.commit()
        return len(confirmed)

    async def measure(self) -> tuple[int, float]:
        """Export (and return) the pending count and the oldest pending message's age."""
        table = self._outbox
        async with self._sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(table.c.created_at)).where(
                        table.c.sent_at.is_(None)
                    )
                )
            ).one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age = (_now() - oldest).total_seconds() if oldest is not None else 0.0
        PENDING.labels(self._service).set(count)
        OLDEST_PENDING_AGE.labels(self._service).set(max(0.0, age))
        return int(count), age

    async def _claim(self, session: AsyncSession) -> Sequence[_OutboxRow]:
        table = self._outbox
        query = (
            select(table.c.message_id, table.c.envelope, table.c.attempts, table.c.created_at)
            .where(table.c.sent_at.is_(None), table.c.available_at <= _now())
            .order_by(table.c.created_at, table.c.message_id)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True)
        )
        return (await session.execute(query)).all()

    async def _publish(self, row: _OutboxRow) -> BusError | None:
        try:
            envelope = Envelope.model_validate_json(row.envelope)
        except ValidationError as error:
            # Only a hand-edited row gets here; keep it, visible through last_error.
            return PoisonMessage(f"stored envelope does not parse: {error}")
        try:
            await self._bus.publish(envelope)
        except BusError as error:
            return error
        return None

    async def _mark_sent(self, session: AsyncSession, rows: Sequence[_OutboxRow]) -> None:
        if not rows:
            return
        table, sent_at = self._outbox, _now()
        ids = [row.message_id for row in rows]
        await session.execute(
            update(table).where(table.c.message_id.in_(ids)).values(sent_at=sent_at)
        )
        PUBLISHED.labels("confirmed").inc(len(rows))
        for row in rows:
            LAG.observe((sent_at - row.created_at).total_seconds())

    async def _reschedule(self, session: AsyncSession, row: _OutboxRow, error: BusError) -> None:
        table = self._outbox
        PUBLISHED.labels("failed").inc()
        attempts = row.attempts + 1
        self._outages.failed("outbox publish", error)
        await session.execute(
            update(table)
            .where(table.c.message_id == row.message_id)
            .values(
                attempts=attempts,
                available_at=_now() + self._backoff.delay(attempts),
                last_error=str(error)[:500],
            )
        )

    async def _idle(self) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(self._poll_interval):
                await self._wakeup.wait()
                # While the broker is away, a commit does not shorten the wait: trying its
                # rows at once would only add failed attempts, and longer backoffs, to them.
                while self._broker_away and not self._stopping:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                # Woken by a commit: the commits of the next moment join the same pass (one
                # claim and one update for many rows, not one pass per transaction).
                await asyncio.sleep(self._gather_seconds)
        self._wakeup.clear()
