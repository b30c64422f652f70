"""Opening and closing what a service's lifespan owns, in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import MetaData, Table

from fusion.bus import Bus, BusUnavailable, MemoryBus, create_bus
from fusion.bus.tables import MessagingTables
from fusion.db import Database
from fusion.inbox import purge_processed
from fusion.outbox import OutboxRelay, purge_sent
from fusion.settings import BusFragment, DatabaseFragment, ServiceSettings

logger = logging.getLogger(__name__)


@asynccontextmanager
async def open_database(
    settings: DatabaseFragment, *, metadata: MetaData | None = None
) -> AsyncIterator[Database]:
    database = Database(
        settings.database_url.get_secret_value(),
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
    )
    try:
        if metadata is not None and settings.database_create_tables:
            await database.create_all(metadata)
        yield database
    finally:
        await database.dispose()


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
async def open_bus(settings: BusFragment) -> AsyncIterator[Bus]:
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
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


async def bus_ready(bus: Bus) -> None:
    if not bus.is_connected:
        raise BusUnavailable("the broker connection is down")


@asynccontextmanager
async def running_relay(
    *, database: Database, bus: Bus, outbox: Table
) -> AsyncIterator[OutboxRelay]:
    """The outbox relay of one service, stopped (after its current pass) before the bus closes."""
    relay = OutboxRelay(sessions=database.session, bus=bus, outbox=outbox)
    relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


@asynccontextmanager
async def standard_resources(
    settings: ServiceSettings, *, metadata: MetaData | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The lifespan state of a service that owns a database and talks on the bus."""
    async with open_database(settings, metadata=metadata) as database, open_bus(settings) as bus:
        readiness = {"database": database.ping, "broker": partial(bus_ready, bus)}
        yield {"db": database, "bus": bus, "readiness": readiness}


async def purge_messaging(database: Database, tables: MessagingTables, *, keep: timedelta) -> int:
    """Forget sent outbox rows and processed inbox ids older than ``keep``; how many went."""
    async with database.unit_of_work() as session:
        sent = await purge_sent(session, outbox=tables.outbox, older_than=keep)
        seen = await purge_processed(session, inbox=tables.inbox, older_than=keep)
    return sent + seen


@asynccontextmanager
async def running_housekeeping(
    database: Database,
    tables: MessagingTables,
    *,
    keep: timedelta = timedelta(days=30),
    every_seconds: float = 3600.0,
) -> AsyncIterator[None]:
    """Outbox and inbox stay bounded. ``keep`` must outlast any redelivery (outbox retries, DLQ
    replays), or the inbox forgets an id before its late duplicate arrives."""

    async def loop() -> None:
        while True:
            try:
                await purge_messaging(database, tables, keep=keep)
            except Exception:  # a failed purge is retried next time; the service goes on
                logger.exception("purging the outbox and inbox failed")
            await asyncio.sleep(every_seconds)

    task = asyncio.create_task(loop(), name="messaging-housekeeping")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
