"""The bus interface shared by the RabbitMQ and the in-process implementations.

    BusError
     ├── BusUnavailable      the broker cannot be reached or did not confirm: retry later
     ├── MessageUnroutable   no queue is bound to the routing key (publish is mandatory)
     └── PoisonMessage       raised by a handler: never retry, dead-letter at once

A handler returns normally to acknowledge. Any other exception rejects the delivery so the
broker redelivers it; once a message has failed ``delivery_limit`` times more than its first
attempt it moves to the queue's dead-letter queue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from fusion.contracts import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class BusError(Exception):
    pass


class BusUnavailable(BusError):
    pass


class MessageUnroutable(BusError):
    pass


class PoisonMessage(BusError):
    """A message that can never succeed (malformed payload): retrying would only delay the DLQ."""


@dataclass(frozen=True)
class DeadLetter:
    """A message the queue gave up on; its body may not even parse, hence kept raw."""

    body: bytes

    def envelope(self) -> Envelope:
        return Envelope.from_bytes(self.body)


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
        return f"{self.name}.dlq"


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
    async def subscribe(self, queue: QueueSpec, handler: Handler) -> None:
        """Declare the queue, its dead-letter queue and bindings, then start consuming."""

    @abstractmethod
    async def take_dead_letters(self, queue: QueueSpec, *, limit: int = 100) -> list[DeadLetter]:
        """Remove up to ``limit`` messages from the queue's DLQ, e.g. to inspect or replay."""

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
