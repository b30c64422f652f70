"""What a service consumes from the bus: its subscriptions, each a durable queue and a typed
handler, and the handler the kit gives the bus for each (parse, deduplicate, one unit of work)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fusion.bus import QueueSpec
from fusion.contracts import Envelope, Message
from fusion.inbox import claim_message, parse_payload
from fusion.resources import Resources
from fusion.settings import BusFragment
from fusion.unit_of_work import UnitOfWork

S = TypeVar("S")
M = TypeVar("M", bound=Message)
S_contra = TypeVar("S_contra", contravariant=True)
M_contra = TypeVar("M_contra", bound=Message, contravariant=True)


class ConsumerHandler(Protocol[M_contra, S_contra]):
    """``async def handle(payload: RunSync, *, uow: UnitOfWork, state: SyncState) -> None``."""

    async def __call__(self, payload: M_contra, /, *, uow: UnitOfWork, state: S_contra) -> None: ...


@dataclass(frozen=True)
class Subscription(Generic[M, S]):
    """A durable queue (its own name, before the deployment prefix), the payload type it takes
    and the handler; bound to the payload's routing key unless ``bindings`` says otherwise.

    ``deduplicate=False`` skips the inbox, for a handler whose every write is conditional on
    the state it read (so a redelivery does nothing) and which opens its own units of work.
    """

    queue: str
    payload: type[M]
    handler: ConsumerHandler[M, S]
    bindings: tuple[str, ...] = ()
    prefetch: int | None = None
    deduplicate: bool = True

    def spec(self, settings: BusFragment) -> QueueSpec:
        return QueueSpec(
            name=f"{settings.bus_queue_prefix}{self.queue}",
            bindings=self.bindings or (self.payload.type,),
            delivery_limit=settings.bus_delivery_limit,
            prefetch=self.prefetch or settings.bus_prefetch,
        )


def consumer(
    subscription: Subscription[Any, S], resources: Resources, state: S
) -> Callable[[Envelope], Awaitable[None]]:
    """The bus handler of ``subscription``: the payload parsed, the message claimed in the
    inbox (unless it does not deduplicate) and handled in one unit of work."""
    inbox = resources.messaging.inbox if resources.messaging is not None else None
    assert inbox is not None or not subscription.deduplicate, "declare the messaging tables"

    async def handle(envelope: Envelope) -> None:
        payload = parse_payload(envelope, subscription.payload)
        async with resources.unit_of_work() as uow:
            if (
                inbox is None
                or not subscription.deduplicate
                or await claim_message(
                    uow.session, inbox=inbox, consumer=subscription.queue, envelope=envelope
                )
            ):
                await subscription.handler(payload, uow=uow, state=state)

    return handle
