"""The bus in tests: a private namespace on the shared broker, a TCP proxy to cut it, and
``bus_under_test``, which runs one test against the real RabbitMQ and the in-process bus.

Other test runs use the same broker at the same time, so every exchange and queue a run
declares carries the run's prefix and is deleted at the end. Fault tests never stop the
broker: they cut the proxy between the client under test and the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import aio_pika
import pytest
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

from fusion.bus import Bus, MemoryBus, QueueSpec, RabbitBus

T = TypeVar("T")

RABBIT_URL = os.environ.get("FUSION_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
_BROKER = urlsplit(RABBIT_URL)
RABBIT_HOST = _BROKER.hostname or "127.0.0.1"
RABBIT_PORT = _BROKER.port or 5672


class RabbitNamespace:
    """Unique names for one test run; remembers them so ``cleanup`` can delete them."""

    def __init__(self, url: str = RABBIT_URL) -> None:
        self.url = url
        self.prefix = f"fusion_test.{uuid.uuid4().hex[:10]}"
        self._counter = itertools.count()
        self._exchanges: list[str] = []
        self._queues: list[str] = []

    def exchange(self) -> str:
        name = f"{self.prefix}.x{next(self._counter)}.events"
        self._exchanges += [name, f"{name}.dlx"]
        return name

    def queue(self, label: str) -> str:
        name = f"{self.prefix}.q{next(self._counter)}.{label}"
        self._queues += [name, f"{name}.dlq"]
        return name

    async def cleanup(self) -> None:
        connection = await aio_pika.connect(self.url)
        async with connection:
            for name in self._queues:
                channel = await connection.channel()
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.queue_delete(name)
            for name in self._exchanges:
                channel = await connection.channel()
                with contextlib.suppress(*CONNECTION_EXCEPTIONS):
                    await channel.exchange_delete(name)


def _credentials() -> str:
    if _BROKER.username is None:
        return ""
    return f"{_BROKER.username}:{_BROKER.password or ''}@"


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the broker; ``cut`` drops every link and refuses new ones."""

    def __init__(self, target_host: str = RABBIT_HOST, target_port: int = RABBIT_PORT) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._accepting = True
        self.port = 0

    def url(self) -> str:
        """The broker's URL (same credentials and vhost), reached through this proxy."""
        return _BROKER._replace(netloc=f"{_credentials()}127.0.0.1:{self.port}").geturl()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self._accepting = False
        for writer in list(self._writers):
            writer.transport.abort()

    def restore(self) -> None:
        self._accepting = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._accepting:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._writers -= pair
            for end in pair:
                end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@pytest.fixture(scope="session")
async def rabbit_namespace() -> AsyncIterator[RabbitNamespace]:
    namespace = RabbitNamespace()
    yield namespace
    await namespace.cleanup()


@pytest.fixture
async def tcp_proxy() -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy()
    await proxy.start()
    yield proxy
    await proxy.close()


async def wait_until(probe: Callable[[], Awaitable[T | None]], *, seconds: float = 15.0) -> T:
    """Poll ``probe`` until it returns something: bounded in time, never a bare sleep."""
    async with asyncio.timeout(seconds):
        while True:
            found = await probe()
            if found is not None:
                return found
            await asyncio.sleep(0.02)


@dataclass
class BusUnderTest:
    kind: str
    bus: Bus
    outage: Callable[[], AbstractAsyncContextManager[None]]
    queue_name: Callable[[str], str]

    def queue(
        self, label: str, *bindings: str, delivery_limit: int = 3, prefetch: int = 1
    ) -> QueueSpec:
        return QueueSpec(
            self.queue_name(label), bindings, delivery_limit=delivery_limit, prefetch=prefetch
        )


def _memory_under_test() -> BusUnderTest:
    bus = MemoryBus()
    counter = itertools.count()
    return BusUnderTest("memory", bus, bus.outage, lambda label: f"q{next(counter)}.{label}")


def _rabbit_under_test(namespace: RabbitNamespace, proxy: TcpProxy) -> BusUnderTest:
    # Through the proxy so that a test can cut the link; short timers keep fault tests quick.
    bus = RabbitBus(
        proxy.url(), exchange=namespace.exchange(), reconnect_interval=0.2, publish_timeout=3.0
    )

    @asynccontextmanager
    async def outage() -> AsyncIterator[None]:
        proxy.cut()
        try:
            yield
        finally:
            proxy.restore()

    return BusUnderTest("rabbit", bus, outage, namespace.queue)


@pytest.fixture(params=[pytest.param("rabbit", marks=pytest.mark.rabbitmq), "memory"])
async def bus_under_test(
    request: pytest.FixtureRequest, rabbit_namespace: RabbitNamespace, tcp_proxy: TcpProxy
) -> AsyncIterator[BusUnderTest]:
    """A started bus of each kind, with ``outage()`` to make its broker unreachable."""
    if request.param == "rabbit":
        under_test = _rabbit_under_test(rabbit_namespace, tcp_proxy)
    else:
        under_test = _memory_under_test()
    await under_test.bus.start()
    yield under_test
    await under_test.bus.close()
