"""The bus interface shared by the RabbitMQ and the in-process implementations.

    BusError
     ├── BusUnavailable      the broker cannot be reached or did not confirm: retry later
     ├── MessageUnroutable   no queue is bound to a command's routing key (events may go nowhere)
     ├── UnknownQueue        no such queue (or dead-letter queue) has been declared
     └── PoisonMessage       raised by a handler: never retry, dead-letter at once

A handler returns normally to acknowledge. Any other exception rejects the delivery so the
broker redelivers it; once a message has failed ``delivery_limit`` times more than its first
attempt it moves to the queue's dead-letter queue.

Dead letters are read through ``hold_dead_letters``: the implementation lends up to ``limit``
of them and puts back every one not explicitly removed when the block ends, however it ends.
Peeking, taking and replaying are built on that, so a crash never loses a dead letter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

from pydantic import ValidationError

from fusion.contracts import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class BusError(Exception):
    pass


class BusUnavailable(BusError):
    pass


class MessageUnroutable(BusError):
    pass


class UnknownQueue(BusError):
    pass


class PoisonMessage(BusError):
    """A message that can never succeed (malformed payload): retrying would only delay the DLQ."""


@dataclass(frozen=True)
class DeadLetter:
    """A message the queue gave up on; its body may not even parse, hence kept raw.

    ``routing_key`` is the key it was first published with, ``first_failed_at`` when it was
    first dead-lettered and ``reason`` why (``rejected``: poison or unparseable,
    ``delivery_limit``: failed too often), when the implementation knows them.
    """

    body: bytes
    routing_key: str | None = None
    first_failed_at: datetime | None = None
    reason: str | None = None

    def envelope(self) -> Envelope:
        return Envelope.from_bytes(self.body)

    def parsed(self) -> Envelope | None:
        """The envelope, or ``None`` for a body no Fusion consumer could ever read."""
        try:
            return self.envelope()
        except ValidationError:
            return None


class HeldDeadLetter(ABC):
    """A dead letter lent by ``hold_dead_letters``: still in its DLQ until ``remove`` is awaited."""

    def __init__(self, letter: DeadLetter) -> None:
        self.letter = letter

    @abstractmethod
    async def remove(self) -> None: ...


@dataclass(frozen=True)
class Replay:
    """What ``replay_dead_letters`` did: ``left`` are bodies no consumer can parse, kept."""

    replayed: list[DeadLetter]
    left: list[DeadLetter]


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dlq"


@dataclass(frozen=True)
class QueueSpec:
    """A consumer's durable queue and the routing-key patterns (``*``, ``#``) bound to it."""

    name: str
    bindings: tuple[str, ...]
    delivery_limit: int = 5
    prefetch: int = 32

    def __post_init__(self) -> None:
        if not self.bindings:
            raise ValueError(f"queue {self.name!r} needs at least one binding")
        if self.delivery_limit < 0 or self.prefetch < 1:
            raise ValueError("delivery_limit must be >= 0 and prefetch >= 1")

    @property
    def dead_letter_queue(self) -> str:
        return dead_letter_queue_name(self.name)


def _words_match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_words_match(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return head in ("*", words[0]) and _words_match(rest, words[1:])


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more words."""
    return _words_match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


class Consumers(ABC):
    """The consumers ``Bus.subscribe`` started on one queue."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop consuming: no delivery reaches the handler after this returns. In process,
        a handler that is running is cancelled and its delivery put back in the queue; on
        the broker, the subscription's channel closes, and what it had not acknowledged is
        delivered again. Stopping twice, or after the bus closed, does nothing."""


class Bus(ABC):
    """Publish envelopes to the event exchange and consume them from durable queues."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @property
    @abstractmethod
    def is_connected(self) -> bool: ...

    @abstractmethod
    async def publish(self, envelope: Envelope) -> None:
        """Return only once the broker has confirmed; raise ``BusUnavailable`` otherwise."""

    @abstractmethod
    async def subscribe(self, queue: QueueSpec, handler: Handler) -> Consumers:
        """Declare the queue, its dead-letter queue and bindings, then start consuming."""

    @abstractmethod
    def hold_dead_letters(
        self, queue: str, *, limit: int
    ) -> AbstractAsyncContextManager[list[HeldDeadLetter]]:
        """Lend up to ``limit`` of the named queue's dead letters, oldest first; those not
        removed go back to the DLQ when the block exits. ``UnknownQueue`` if never declared."""

    @abstractmethod
    async def republish(self, queue: str, letter: DeadLetter) -> None:
        """Put ``letter`` back on the named queue only (not the exchange: other consumers
        already have it), same body and message id; return once the broker has confirmed."""

    async def take_dead_letters(self, queue: QueueSpec, *, limit: int = 100) -> list[DeadLetter]:
        """Remove up to ``limit`` messages from the queue's DLQ (none if it was never declared)."""
        try:
            async with self.hold_dead_letters(queue.name, limit=limit) as held:
                for each in held:
                    await each.remove()
                return [each.letter for each in held]
        except UnknownQueue:
            return []

    async def peek_dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` of the queue's dead letters, all left in place."""
        async with self.hold_dead_letters(queue, limit=limit) as held:
            return [each.letter for each in held]

    async def replay_dead_letters(self, queue: str, *, limit: int = 100) -> Replay:
        """Send up to ``limit`` dead letters back to their queue, one at a time.

        Publish, wait for the confirm, then remove from the DLQ, never the reverse: a crash in
        between leaves the message both replayed and still dead, a duplicate the consumer's
        inbox absorbs, rather than lost. Bodies that are not envelopes stay in the DLQ: they
        would only be dead-lettered again.
        """
        replayed: list[DeadLetter] = []
        left: list[DeadLetter] = []
        async with self.hold_dead_letters(queue, limit=limit) as held:
            for each in held:
                if each.letter.parsed() is None:
                    left.append(each.letter)
                    continue
                await self.republish(queue, each.letter)
                await each.remove()
                replayed.append(each.letter)
        return Replay(replayed=replayed, left=left)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
