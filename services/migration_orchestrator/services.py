"""The long-lived objects of the orchestrator, opened by its lifespan, closed in reverse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from fusion.apogee import ApogeeClient, open_apogee
from fusion.db import Database
from fusion.moodle.client import MoodleClient
from fusion.moodle.registry import MoodleRegistry
from fusion.runtime import Resources
from services.migration_orchestrator.clients.identity import IdentityClient
from services.migration_orchestrator.settings import Settings
from services.migration_orchestrator.store import BackupStore, DirectoryStore
from services.migration_orchestrator.workers.slot_releases import SlotReleases


@dataclass
class Orchestrator:
    settings: Settings
    db: Database
    store: BackupStore
    apogee: ApogeeClient
    identity: IdentityClient
    moodle: MoodleRegistry
    moodle_http: httpx.AsyncClient
    slot_releases: SlotReleases = field(default_factory=SlotReleases)

    @property
    def sources(self) -> set[str]:
        return set(self.moodle) - {self.settings.target_platform}

    @property
    def target(self) -> MoodleClient:
        return self.moodle[self.settings.target_platform]

    def concurrency(self) -> dict[str, int]:
        return {p.name: p.concurrency for p in self.settings.platforms if p.name in self.sources}


@dataclass(frozen=True)
class Transports:
    """Seams for tests and the all-in-one process (ASGI apps instead of the network)."""

    apogee: httpx.AsyncBaseTransport | None = None
    identity: httpx.AsyncBaseTransport | None = None
    moodle: httpx.AsyncBaseTransport | None = None

    def by_upstream(self) -> dict[str, httpx.AsyncBaseTransport]:
        """As the runtime's ``Seams`` name them."""
        named = {"apogee": self.apogee, "identity": self.identity, "moodle": self.moodle}
        return {name: transport for name, transport in named.items() if transport is not None}


@asynccontextmanager
async def open_orchestrator(resources: Resources) -> AsyncIterator[Orchestrator]:
    """The orchestrator's objects, from what the kit's runtime opened (``fusion.runtime``)."""
    settings = resources.settings
    assert isinstance(settings, Settings)
    identity_http = await resources.http_client("identity", base_url=settings.identity_url)
    moodle_http = await resources.http_client("moodle")
    yield Orchestrator(
        settings=settings,
        db=resources.database,
        store=DirectoryStore(settings.store_dir),
        apogee=await open_apogee(resources, settings),
        identity=IdentityClient(
            http=identity_http, token=settings.identity_token.get_secret_value()
        ),
        moodle=MoodleRegistry(settings.platforms, http=moodle_http),
        moodle_http=moodle_http,
    )
