"""The in-process bus of the all-in-one mode, with RabbitMQ's routing and retry semantics.

Bodies go through the same JSON encoding as on the wire, a failing handler's message is
redelivered until it has failed ``delivery_limit`` times after its first attempt, then it is
dead-lettered, and a handler cancelled mid-flight puts its message back as a closed channel
would. Nothing survives the process: that is the price of running without a broker.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fusion.bus.base import (
    Bus,
    BusError,
    BusUnavailable,
    Consumers,
    DeadLetter,
    Handler,
    HeldDeadLetter,
    MessageUnroutable,
    QueueSpec,
    UnknownQueue,
    topic_matches,
)
from fusion.bus.delivery import Outcome, handle_delivery
from fusion.contracts import Envelope


@dataclass
class _Delivery:
    body: bytes
    routing_key: str
    failures: int = 0
    # Kept across replays, as RabbitMQ keeps a message's x-death history.
    first_failed_at: datetime | None = None

    def dead(self, reason: str) -> DeadLetter:
        failed_at = self.first_failed_at or datetime.now(UTC)
        return DeadLetter(self.body, self.routing_key, failed_at, reason)


@dataclass
class _Queue:
    spec: QueueSpec
    bindings: set[str]
    ready: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    dead: deque[DeadLetter] = field(default_factory=deque)

    def routes(self, routing_key: str) -> bool:
        return any(topic_matches(pattern, routing_key) for pattern in self.bindings)


class MemoryBus(Bus):
    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._consumers: set[asyncio.Task[None]] = set()
        self._started = False
        # Cleared during a simulated outage: publishers fail and consumers stall, like a cut link.
        self._reachable = asyncio.Event()
        self._reachable.set()

    async def start(self) -> None:
        self._started = True

    async def close(self) -> None:
        self._started = False
        consumers, self._consumers = self._consumers, set()
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)

    @property
    def is_connected(self) -> bool:
        return self._started and self._reachable.is_set()

    @asynccontextmanager
    async def outage(self) -> AsyncIterator[None]:
        """Make the bus unreachable for the duration of the block (fault tests)."""
        self._reachable.clear()
        try:
            yield
        finally:
            self._reachable.set()

    async def publish(self, envelope: Envelope) -> None:
        if not self.is_connected:
            raise BusUnavailable("the in-process bus is not running")
        targets = [queue for queue in self._queues.values() if queue.routes(envelope.type)]
        if not targets and envelope.mandatory:
            raise MessageUnroutable(f"no queue is bound to {envelope.type!r}")
        body = envelope.to_bytes()
        for queue in targets:
            queue.ready.put_nowait(_Delivery(body, envelope.type))

    async def subscribe(self, queue: QueueSpec, handler: Handler) -> Consumers:
        if not self._started:
            raise BusUnavailable("start the bus before subscribing")
        declared = self._declare(queue)
        tasks = []
        for _ in range(queue.prefetch):
            task = asyncio.create_task(self._consume(declared, handler), name=f"bus:{queue.name}")
            self._consumers.add(task)
            task.add_done_callback(self._consumers.discard)
            tasks.append(task)
        return _MemoryConsumers(tasks)

    @asynccontextmanager
    async def hold_dead_letters(
        self, queue: str, *, limit: int
    ) -> AsyncIterator[list[HeldDeadLetter]]:
        dead = self._declared(queue).dead
        # Lent letters leave the deque, as unacked messages are invisible to other channels.
        lent = [_MemoryHeld(dead.popleft()) for _ in range(min(limit, len(dead)))]
        held: list[HeldDeadLetter] = list(lent)
        try:
            yield held
        finally:
            dead.extendleft(reversed([each.letter for each in lent if not each.removed]))

    async def republish(self, queue: str, letter: DeadLetter) -> None:
        if not self.is_connected:
            raise BusUnavailable("the in-process bus is not running")
        routing_key = letter.routing_key or letter.envelope().type
        delivery = _Delivery(letter.body, routing_key, first_failed_at=letter.first_failed_at)
        self._declared(queue).ready.put_nowait(delivery)

    def _declared(self, name: str) -> _Queue:
        declared = self._queues.get(name)
        if declared is None:
            raise UnknownQueue(f"no queue {name!r} has been declared on this bus")
        return declared

    def _declare(self, spec: QueueSpec) -> _Queue:
        existing = self._queues.get(spec.name)
        if existing is None:
            existing = self._queues[spec.name] = _Queue(spec, set(spec.bindings))
        elif existing.spec.delivery_limit != spec.delivery_limit:
            # RabbitMQ refuses a redeclaration with other arguments (PRECONDITION_FAILED).
            raise BusError(f"queue {spec.name!r} exists with another delivery limit")
        existing.bindings.update(spec.bindings)
        return existing

    async def _consume(self, queue: _Queue, handler: Handler) -> None:
        while True:
            await self._reachable.wait()
            delivery = await queue.ready.get()
            await self._deliver(queue, delivery, handler)

    async def _deliver(self, queue: _Queue, delivery: _Delivery, handler: Handler) -> None:
        try:
            outcome = await handle_delivery(handler, delivery.body, queue=queue.spec.name)
        except asyncio.CancelledError:
            queue.ready.put_nowait(delivery)
            raise
        if outcome is Outcome.DEAD_LETTER:
            queue.dead.append(delivery.dead("rejected"))
        elif outcome is Outcome.RETRY:
            self._return(queue, delivery)

    @staticmethod
    def _return(queue: _Queue, delivery: _Delivery) -> None:
        delivery.failures += 1
        if delivery.failures > queue.spec.delivery_limit:
            queue.dead.append(delivery.dead("delivery_limit"))
        else:
            queue.ready.put_nowait(delivery)


class _MemoryConsumers(Consumers):
    def __init__(self, tasks: list[asyncio.Task[None]]) -> None:
        self._tasks = tasks

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()  # a delivery being handled goes back to its queue (``_deliver``)
        await asyncio.gather(*tasks, return_exceptions=True)


class _MemoryHeld(HeldDeadLetter):
    def __init__(self, letter: DeadLetter) -> None:
        super().__init__(letter)
        self.removed = False

    async def remove(self) -> None:
        self.removed = True
