"""The message bus: one interface, RabbitMQ for the distributed mode, in-process for all-in-one."""

from __future__ import annotations

from urllib.parse import urlsplit

from fusion.bus.base import (
    Bus,
    BusError,
    BusUnavailable,
    Consumers,
    DeadLetter,
    Handler,
    HeldDeadLetter,
    MessageUnroutable,
    PoisonMessage,
    QueueSpec,
    Replay,
    UnknownQueue,
    dead_letter_queue_name,
    topic_matches,
)
from fusion.bus.memory import MemoryBus
from fusion.bus.rabbit import RabbitBus

__all__ = [
    "Bus",
    "BusError",
    "BusUnavailable",
    "Consumers",
    "DeadLetter",
    "Handler",
    "HeldDeadLetter",
    "MemoryBus",
    "MessageUnroutable",
    "PoisonMessage",
    "QueueSpec",
    "RabbitBus",
    "Replay",
    "UnknownQueue",
    "create_bus",
    "dead_letter_queue_name",
    "topic_matches",
]


def create_bus(
    url: str,
    *,
    exchange: str = "fusion.events",
    reconnect_interval: float = 1.0,
    publish_timeout: float = 10.0,
) -> Bus:
    """``amqp://`` / ``amqps://`` → RabbitMQ, ``memory://`` → in-process. Not started yet."""
    scheme = urlsplit(url).scheme
    if scheme in ("amqp", "amqps"):
        return RabbitBus(
            url,
            exchange=exchange,
            reconnect_interval=reconnect_interval,
            publish_timeout=publish_timeout,
        )
    if scheme == "memory":
        return MemoryBus()
    raise ValueError(f"unsupported bus URL scheme {scheme!r}: use amqp://, amqps:// or memory://")
