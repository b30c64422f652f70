"""The RabbitMQ bus: a durable topic exchange, quorum queues, confirms, manual acks.

Every queue is a quorum queue with an explicit ``x-delivery-limit`` and a dead-letter exchange
(RabbitMQ 3.10 has no default limit), dead-lettering at least once so a poison message is
never dropped on the way to its DLQ. All dead letters go through one direct exchange
``<exchange>.dlx`` and are routed by queue name to ``<queue>.dlq``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.connection import make_url
from aio_pika.exceptions import (
    CONNECTION_EXCEPTIONS,
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
    DeliveryError,
    PublishError,
)

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
    dead_letter_queue_name,
)
from fusion.bus.dead_letters import FIRST_FAILED_HEADER, dead_letter_of
from fusion.bus.delivery import Outcome, handle_delivery
from fusion.contracts import Envelope

logger = logging.getLogger(__name__)


def queue_arguments(spec: QueueSpec, *, dead_letter_exchange: str) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": spec.delivery_limit,
        "x-dead-letter-exchange": dead_letter_exchange,
        "x-dead-letter-routing-key": spec.name,
        "x-dead-letter-strategy": "at-least-once",
        # at-least-once dead-lettering requires reject-publish overflow.
        "x-overflow": "reject-publish",
    }


def to_amqp(envelope: Envelope) -> aio_pika.Message:
    return aio_pika.Message(
        envelope.to_bytes(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(envelope.message_id),
        correlation_id=envelope.correlation_id,
        type=envelope.type,
        timestamp=envelope.occurred_at,
    )


class RabbitBus(Bus):
    def __init__(
        self,
        url: str,
        *,
        exchange: str = "fusion.events",
        reconnect_interval: float = 1.0,
        publish_timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._exchange_name = exchange
        self._reconnect_interval = reconnect_interval
        self._publish_timeout = publish_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    @property
    def exchange_name(self) -> str:
        return self._exchange_name

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self._exchange_name}.dlx"

    async def start(self) -> None:
        self._connection = await self._connect()
        try:
            channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchange = await self._declare_exchanges(channel)
            self._channel = channel
        except BaseException:
            # An unclosed robust connection would be closed by its finaliser outside the loop.
            await self.close()
            raise

    async def _connect(self) -> AbstractRobustConnection:
        """``connect_robust``, except that a failed attempt is closed here.

        ``connect_robust`` drops the connection object it could not connect without closing
        it; its finaliser then schedules ``close()`` from wherever the garbage collector runs
        (a worker thread, a loop about to close), and that coroutine is never awaited.
        """
        interval = self._reconnect_interval
        connection = aio_pika.RobustConnection(
            make_url(self._url, reconnect_interval=interval), reconnect_interval=interval
        )
        try:
            await connection.connect()
        except BaseException as error:
            await connection.close()
            if isinstance(error, CONNECTION_EXCEPTIONS):
                raise BusUnavailable(f"cannot connect to the broker: {error}") from error
            raise
        return connection

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._channel = self._exchange = None

    @property
    def is_connected(self) -> bool:
        connection = self._connection
        return connection is not None and connection.connected.is_set()

    async def publish(self, envelope: Envelope) -> None:
        if self._exchange is None:
            raise BusUnavailable("start the bus before publishing")
        try:
            await self._exchange.publish(
                to_amqp(envelope),
                routing_key=envelope.type,
                mandatory=envelope.mandatory,
                timeout=self._publish_timeout,
            )
        except PublishError as error:
            raise MessageUnroutable(f"no queue is bound to {envelope.type!r}") from error
        except DeliveryError as error:
            raise BusUnavailable(f"the broker refused {envelope.message_id}") from error
        except CONNECTION_EXCEPTIONS as error:
            raise BusUnavailable(f"publishing failed: {error!r}") from error

    async def subscribe(self, queue: QueueSpec, handler: Handler) -> Consumers:
        channel = await self._open_channel()
        await channel.set_qos(prefetch_count=queue.prefetch)
        exchange = await self._declare_exchanges(channel)
        try:
            declared = await self._declare_queue(channel, queue)
        except ChannelPreconditionFailed as error:
            raise BusError(f"queue {queue.name!r} exists with other arguments: {error}") from error
        for pattern in queue.bindings:
            await declared.bind(exchange, routing_key=pattern)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await _process(message, handler, queue_name=queue.name)

        await declared.consume(on_message)
        return _RabbitConsumers(channel)

    @asynccontextmanager
    async def hold_dead_letters(
        self, queue: str, *, limit: int
    ) -> AsyncIterator[list[HeldDeadLetter]]:
        # Fetched unacknowledged on a channel of their own: closing it returns every message
        # not acked, whether the block ends normally, raises, or the process dies.
        channel = await self._open_channel()
        try:
            try:
                dead = await channel.get_queue(dead_letter_queue_name(queue), ensure=True)
            except ChannelNotFoundEntity as error:
                raise UnknownQueue(f"no dead-letter queue for {queue!r} on the broker") from error
            held: list[HeldDeadLetter] = []
            while len(held) < limit:
                message = await dead.get(no_ack=False, fail=False)
                if message is None:
                    break
                held.append(_RabbitHeld(message))
            yield held
        finally:
            with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                await channel.close()

    async def republish(self, queue: str, letter: DeadLetter) -> None:
        if self._channel is None:
            raise BusUnavailable("start the bus before replaying")
        message = to_amqp(letter.envelope())
        if letter.first_failed_at is not None:
            # x-death is the broker's to write; this survives the replay on any version.
            message.headers[FIRST_FAILED_HEADER] = letter.first_failed_at.isoformat()
        try:
            # The default exchange routes by queue name: only this consumer gets it again.
            await self._channel.default_exchange.publish(
                message, routing_key=queue, mandatory=True, timeout=self._publish_timeout
            )
        except PublishError as error:
            raise UnknownQueue(f"queue {queue!r} no longer exists") from error
        except DeliveryError as error:
            raise BusUnavailable(f"the broker refused the replay of {queue!r}") from error
        except CONNECTION_EXCEPTIONS as error:
            raise BusUnavailable(f"replaying failed: {error!r}") from error

    async def _open_channel(self) -> AbstractChannel:
        if self._connection is None:
            raise BusUnavailable("start the bus first")
        try:
            return await self._connection.channel()
        except CONNECTION_EXCEPTIONS as error:
            raise BusUnavailable(f"cannot open a channel: {error!r}") from error

    async def _declare_exchanges(self, channel: AbstractChannel) -> AbstractExchange:
        await channel.declare_exchange(
            self.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        return await channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def _declare_queue(self, channel: AbstractChannel, spec: QueueSpec) -> AbstractQueue:
        dead = await channel.declare_queue(
            spec.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(self.dead_letter_exchange, routing_key=spec.name)
        arguments = queue_arguments(spec, dead_letter_exchange=self.dead_letter_exchange)
        return await channel.declare_queue(spec.name, durable=True, arguments=arguments)


class _RabbitConsumers(Consumers):
    """A subscription's own channel: closed, it consumes no more (robust: not reopened)."""

    def __init__(self, channel: AbstractChannel) -> None:
        self._channel = channel

    async def stop(self) -> None:
        if self._channel.is_closed:
            return
        with contextlib.suppress(*CONNECTION_EXCEPTIONS):
            await self._channel.close()


class _RabbitHeld(HeldDeadLetter):
    def __init__(self, message: AbstractIncomingMessage) -> None:
        super().__init__(dead_letter_of(message.body, message.headers))
        self._message = message

    async def remove(self) -> None:
        try:
            await self._message.ack()
        except CONNECTION_EXCEPTIONS as error:
            raise BusUnavailable(f"could not remove a dead letter: {error!r}") from error


async def _process(message: AbstractIncomingMessage, handler: Handler, *, queue_name: str) -> None:
    """Ack after the handler returned; reject (requeue) when it raised; dead-letter poison."""
    outcome = await handle_delivery(handler, message.body, queue=queue_name)
    await _settle(message, ack=outcome is Outcome.ACK, requeue=outcome is Outcome.RETRY)


async def _settle(message: AbstractIncomingMessage, *, ack: bool, requeue: bool) -> None:
    try:
        if ack:
            await message.ack()
        else:
            await message.reject(requeue=requeue)
    except CONNECTION_EXCEPTIONS:
        # Delivery tags die with their channel: the broker redelivers, the inbox absorbs it.
        logger.warning("could not settle a delivery on a lost channel; it will be redelivered")
