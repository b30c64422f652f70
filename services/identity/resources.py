"""The long-lived objects of the service: database, one Moodle client per platform, the
background tasks that run imports and plans; opened by the lifespan or the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from fusion.db import Database
from fusion.errors import NotFound
from fusion.moodle.client import MoodleClient
from fusion.moodle.registry import MoodleRegistry
from fusion.outage import OutageLog
from fusion.runtime import Resources, Seams, standalone
from fusion.unit_of_work import UnitOfWork
from services.identity.ldap_source import DirectoryServer
from services.identity.models import messaging, metadata, schema
from services.identity.settings import Settings

log = logging.getLogger(__name__)


class DirectoryNotConfigured(NotFound):
    code = "directory_not_configured"


@dataclass
class Background:
    """Tasks the service started; cancelled (and awaited) when it stops."""

    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


Units = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass
class IdentityServices:
    settings: Settings
    db: Database
    moodles: MoodleRegistry
    units: Units  # a unit of work whose published messages go through the outbox
    background: Background = field(default_factory=Background)
    outages: OutageLog = field(default_factory=OutageLog)

    def moodle(self, platform: str) -> MoodleClient:
        return self.moodles.client(platform)

    def directory(self) -> DirectoryServer:
        s = self.settings
        if not s.ldap_url:
            raise DirectoryNotConfigured(
                "No LDAP directory is configured: load an LDIF or CSV file instead.",
                message_fr="Aucun annuaire LDAP n'est configuré : chargez plutôt un fichier "
                "LDIF ou CSV.",
            )
        return DirectoryServer(
            url=s.ldap_url,
            bind_dn=s.ldap_bind_dn,
            password=s.ldap_password.get_secret_value(),
            base_dn=s.ldap_base_dn,
            search_filter=s.ldap_filter,
            page_size=s.ldap_page_size,
        )


@asynccontextmanager
async def open_services(resources: Resources) -> AsyncIterator[IdentityServices]:
    """The service's state, from what the kit's runtime opened (``fusion.runtime``)."""
    settings = resources.settings
    assert isinstance(settings, Settings)
    http = await resources.http_client("moodle")
    moodles = MoodleRegistry(settings.platforms, http=http)
    services = IdentityServices(
        settings=settings,
        db=resources.database,
        moodles=moodles,
        units=resources.unit_of_work,
        outages=resources.outages,
    )
    try:
        yield services
    finally:
        await services.background.stop()


def open_standalone(
    settings: Settings, *, moodle_transport: httpx.AsyncBaseTransport | None = None
) -> AbstractAsyncContextManager[IdentityServices]:
    """The services for the command line (``fusion.runtime.standalone``: no bus, no relay)."""
    transports = {"moodle": moodle_transport} if moodle_transport is not None else {}
    return standalone(
        settings,
        state=open_services,
        metadata=metadata,
        messaging=messaging,
        seams=Seams(transports=transports),
        schema=schema,
    )
