"""Idempotent consumers: each message is processed once per consumer, however often it comes.

The wrapper claims ``(consumer, message_id)`` in the inbox table inside the same transaction as
the handler's changes, commits, and only then lets the bus acknowledge. A duplicate delivery
finds the row and is acknowledged without running the handler; a concurrent duplicate blocks on
the primary key until the first commits, then gets the same answer. If the handler raises,
everything rolls back and the bus rejects the delivery, so the broker redelivers it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy import Table, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.bus import Handler, PoisonMessage
from fusion.contracts import Envelope, Message
from fusion.outbox import SessionFactory

__all__ = [
    "PayloadHandler",
    "claim_message",
    "idempotent_consumer",
    "parse_payload",
    "purge_processed",
]

M = TypeVar("M", bound=Message)
M_contra = TypeVar("M_contra", bound=Message, contravariant=True)


class PayloadHandler(Protocol[M_contra]):
    """``async def handle(payload: CourseRestored, *, session, envelope) -> None``."""

    async def __call__(
        self, payload: M_contra, /, *, session: AsyncSession, envelope: Envelope
    ) -> None: ...


async def claim_message(
    session: AsyncSession, *, inbox: Table, consumer: str, envelope: Envelope
) -> bool:
    """Record that ``consumer`` processes this message; ``False`` if it already did."""
    try:
        await session.execute(
            insert(inbox).values(
                consumer=consumer,
                message_id=envelope.message_id,
                type=envelope.type,
                processed_at=datetime.now(UTC),
            )
        )
    except IntegrityError:
        return False
    return True


def idempotent_consumer(
    handler: PayloadHandler[M],
    payload_type: type[M],
    *,
    consumer: str,
    sessions: SessionFactory,
    inbox: Table,
) -> Handler:
    """Turn a typed handler into a bus handler that commits before the ack."""

    async def handle(envelope: Envelope) -> None:
        payload = parse_payload(envelope, payload_type)
        async with sessions() as session:
            if not await claim_message(session, inbox=inbox, consumer=consumer, envelope=envelope):
                await session.rollback()
                return
            await handler(payload, session=session, envelope=envelope)
            await session.commit()

    return handle


def parse_payload(envelope: Envelope, payload_type: type[M]) -> M:
    """The typed payload; a payload that does not fit can never succeed: poison."""
    try:
        return payload_type.model_validate(envelope.payload)
    except ValidationError as error:
        message = f"{envelope.type} payload does not fit {payload_type.__name__}"
        raise PoisonMessage(message) from error


async def purge_processed(session: AsyncSession, *, inbox: Table, older_than: timedelta) -> int:
    """Forget ids processed before ``now - older_than``. Keep that window far longer than any
    redelivery can take (outbox retries, DLQ replays), or a late duplicate runs again."""
    cutoff = datetime.now(UTC) - older_than
    result = await session.execute(delete(inbox).where(inbox.c.processed_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
