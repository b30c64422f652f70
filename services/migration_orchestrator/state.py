"""What the orchestrator runs on: its objects (database, clients, backup store) and, where a
key signs their cookies, the pages'."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from fusion.outage import OutageLog
from fusion.runtime import Resources
from fusion.web import Web
from services.migration_orchestrator.pages.resources import Pages, open_pages
from services.migration_orchestrator.services import Orchestrator, open_orchestrator
from services.migration_orchestrator.settings import Settings


@dataclass(frozen=True)
class OrchestratorState:
    orchestrator: Orchestrator
    pages: Pages | None
    outages: OutageLog


def state_factory(
    web: Web | None,
) -> Callable[[Resources], AbstractAsyncContextManager[OrchestratorState]]:
    @asynccontextmanager
    async def open_state(resources: Resources) -> AsyncIterator[OrchestratorState]:
        settings = resources.settings
        assert isinstance(settings, Settings)
        async with open_orchestrator(resources) as orchestrator:
            if web is None:
                yield OrchestratorState(orchestrator, None, resources.outages)
                return
            pages = open_pages(
                settings,
                web,
                http_settings=settings,
                platforms=settings.platforms,
                acting_user_header=settings.acting_user_header,
            )
            async with pages as opened:
                yield OrchestratorState(orchestrator, opened, resources.outages)

    return open_state
