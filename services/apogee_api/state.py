"""What apogee_api runs on: the read replica and the catalogue held in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fusion.db import Database
from fusion.resources import ReadinessCheck, Resources
from fusion.tasks import StopSignal, every
from services.apogee_api.settings import Settings
from services.apogee_api.store import CatalogueStore


@dataclass(frozen=True)
class ApogeeState:
    settings: Settings
    database: Database
    catalogue: CatalogueStore
    resources: Resources


@asynccontextmanager
async def open_state(resources: Resources) -> AsyncIterator[ApogeeState]:
    settings = resources.settings
    assert isinstance(settings, Settings)
    store = CatalogueStore(database=resources.database, payment_states=settings.payment_states)
    yield ApogeeState(
        settings=settings, database=resources.database, catalogue=store, resources=resources
    )


async def load_catalogue(state: ApogeeState) -> None:
    """Startup: the first catalogue, read once the replica answers."""
    await state.catalogue.refresh()


async def refresh_catalogue(state: ApogeeState, stop: StopSignal) -> None:
    """Keep serving the last good catalogue while a refresh fails; retry at the next tick."""
    work = every(
        state.settings.catalogue_refresh_seconds,
        state.catalogue.refresh,
        what="apogee catalogue refresh",
        outages=state.resources.outages,
    )
    await work(stop)


def readiness(state: ApogeeState) -> Mapping[str, ReadinessCheck]:
    return {"catalogue": state.catalogue.check_loaded}
