"""What the orchestrator runs on: its settings and one HTTP client for the platforms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from fusion.runtime import Resources
from services.migration_orchestrator.settings import Settings


@dataclass(frozen=True)
class OrchestratorState:
    settings: Settings
    moodle_http: httpx.AsyncClient


@asynccontextmanager
async def open_state(resources: Resources) -> AsyncIterator[OrchestratorState]:
    settings = resources.settings
    assert isinstance(settings, Settings)
    yield OrchestratorState(settings=settings, moodle_http=await resources.http_client("moodle"))
