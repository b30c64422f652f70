"""What the kit opens for a service: the database and the bus (the runtime, the CLI and tests
use them), and ``Resources``, everything one service's runtime opened, from which its state is
built."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from fusion.bus import Bus, MemoryBus, create_bus
from fusion.bus.tables import MessagingTables
from fusion.db import Database
from fusion.http import create_http_client
from fusion.inbox import purge_processed
from fusion.outage import OutageLog
from fusion.outbox import OutboxRelay, purge_sent
from fusion.settings import BusFragment, FusionSettings, HttpClientFragment
from fusion.tasks import StopSignal, TaskSupervisor
from fusion.unit_of_work import UnitOfWork, open_unit_of_work

S = TypeVar("S")
ReadinessCheck = Callable[[], Awaitable[None]]


class _SharedMemoryBuses:
    """``memory://NAME`` names one in-process bus shared by every service of the process (the
    all-in-one mode); it starts with its first user and closes with its last."""

    def __init__(self) -> None:
        self._buses: dict[str, tuple[MemoryBus, int]] = {}

    async def acquire(self, name: str) -> MemoryBus:
        bus, users = self._buses.get(name, (MemoryBus(), 0))
        if users == 0:
            await bus.start()
        self._buses[name] = (bus, users + 1)
        return bus

    async def release(self, name: str) -> None:
        bus, users = self._buses[name]
        if users == 1:
            del self._buses[name]
            await bus.close()
        else:
            self._buses[name] = (bus, users - 1)


_shared_memory = _SharedMemoryBuses()


@asynccontextmanager
async def open_bus(settings: BusFragment, *, connect: bool = True) -> AsyncIterator[Bus]:
    """The bus the settings name, closed at the end; ``connect=False`` leaves connecting (and
    retrying while the broker is away) to the caller."""
    url = settings.bus_url.get_secret_value()
    parts = urlsplit(url)
    if parts.scheme == "memory" and parts.netloc:
        shared = await _shared_memory.acquire(parts.netloc)
        try:
            yield shared
        finally:
            await _shared_memory.release(parts.netloc)
        return
    bus = create_bus(url, exchange=settings.bus_exchange)
    if connect:
        await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


async def purge_messaging(database: Database, tables: MessagingTables, *, keep: timedelta) -> int:
    """Forget sent outbox rows and processed inbox ids older than ``keep``; how many went."""
    async with database.unit_of_work() as session:
        sent = await purge_sent(session, outbox=tables.outbox, older_than=keep)
        seen = await purge_processed(session, inbox=tables.inbox, older_than=keep)
    return sent + seen


@dataclass(frozen=True)
class Seams:
    """What tests and the all-in-one process hand in instead of the real thing."""

    bus: Bus | None = None
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)


class Resources:
    """What the kit opened for one service; the service's state is built from it."""

    def __init__(
        self,
        *,
        settings: FusionSettings,
        database: Database | None,
        messaging: MessagingTables | None,
        seams: Seams,
        stack: AsyncExitStack,
        supervisor: TaskSupervisor,
    ) -> None:
        self.settings = settings
        self._database = database
        self.messaging = messaging
        self.bus: Bus | None = None
        self.relay: OutboxRelay | None = None
        self.outages = OutageLog()
        self.supervisor = supervisor
        self._seams = seams
        self._stack = stack

    @property
    def database(self) -> Database:
        if self._database is None:
            raise RuntimeError(f"{self.settings.service_name} declared no database")
        return self._database

    @property
    def stop(self) -> StopSignal:
        return self.supervisor.stop_signal

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        outbox = self.messaging.outbox if self.messaging is not None else None
        return open_unit_of_work(self.database, outbox=outbox, on_commit=self._wake_relay)

    def _wake_relay(self, uow: UnitOfWork) -> None:
        if uow.published and self.relay is not None:
            self.relay.wake()

    async def http_client(
        self, name: str, *, base_url: str = "", headers: dict[str, str] | None = None
    ) -> httpx.AsyncClient:
        """A long-lived client for the upstream ``name``, closed with the service."""
        assert isinstance(self.settings, HttpClientFragment), "compose HttpClientFragment"
        client = create_http_client(
            self.settings,
            base_url=base_url,
            headers=headers,
            transport=self._seams.transports.get(name),
        )
        return await self._stack.enter_async_context(client)


@dataclass
class Running(Generic[S]):
    """The typed lifespan state: the kit's resources and the service's own state."""

    resources: Resources
    state: S
    readiness: dict[str, ReadinessCheck]


StateFactory = Callable[[Resources], AbstractAsyncContextManager[S]]


@asynccontextmanager
async def no_state(_: Resources) -> AsyncIterator[None]:
    """The state of a service that needs nothing beyond the kit's resources (yet)."""
    yield None
