"""The envelope every message travels in, and the two kinds of payload.

An ``Event`` names a fact in the past tense (``migration.requested``): zero, one or many
services may listen, and nobody listening is normal, so it is published without ``mandatory``.
A ``Command`` names work for one consumer (``sync.run``): published ``mandatory``, so a command
that no queue would take fails and is retried instead of vanishing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fusion.observability import correlation_id as current_correlation_id

ROUTING_KEY_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_-]+)*$"
PLATFORM_PATTERN = r"^[a-z0-9_-]{1,32}$"
MessageKind = Literal["event", "command"]


class Message(BaseModel):
    """Base of every payload: immutable, strict about unknown fields. Subclass ``Event`` or
    ``Command``; a bare ``Message`` counts as an event."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: ClassVar[str]
    kind: ClassVar[MessageKind] = "event"

    def routing_key(self) -> str:
        return self.type


class Event(Message):
    kind: ClassVar[MessageKind] = "event"


class Command(Message):
    kind: ClassVar[MessageKind] = "command"


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: UUID = Field(default_factory=uuid4)
    type: str = Field(pattern=ROUTING_KEY_PATTERN, max_length=255)
    kind: MessageKind = "event"
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = Field(default_factory=lambda: str(uuid4()), min_length=1, max_length=128)
    payload: dict[str, Any]

    @classmethod
    def of(cls, message: Message, *, correlation_id: str | None = None) -> Self:
        """Wrap a payload. The correlation id defaults to that of the request or message being
        handled, so one user action can be followed across services."""
        fields: dict[str, Any] = {
            "type": message.routing_key(),
            "kind": message.kind,
            "payload": message.model_dump(mode="json"),
        }
        inherited = correlation_id or current_correlation_id.get()
        if inherited is not None:
            fields["correlation_id"] = inherited
        return cls(**fields)

    @property
    def mandatory(self) -> bool:
        """A command must reach a queue; an event may reach none."""
        return self.kind == "command"

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Self:
        return cls.model_validate_json(body)
