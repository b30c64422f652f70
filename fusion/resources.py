"""Opening and closing the database and the bus (the runtime, the CLI and tests use them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import urlsplit

from fusion.bus import Bus, MemoryBus, create_bus
from fusion.bus.tables import MessagingTables
from fusion.db import Database
from fusion.inbox import purge_processed
from fusion.outbox import purge_sent
from fusion.settings import BusFragment


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
