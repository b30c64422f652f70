"""The catalogue and its search index, swapped whole on each refresh so readers never see a
half-built one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from fusion.db import Database
from services.apogee_api.catalogue import Catalogue
from services.apogee_api.offer import load_catalogue
from services.apogee_api.search import SearchIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    catalogue: Catalogue
    index: SearchIndex


class CatalogueStore:
    def __init__(self, *, database: Database, payment_states: Sequence[str]) -> None:
        self._database = database
        self._payment_states = tuple(payment_states)
        self._snapshot: Snapshot | None = None

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("the catalogue is read by the lifespan before serving")
        return self._snapshot

    async def refresh(self) -> None:
        async with self._database.engine.connect() as connection:
            catalogue = await load_catalogue(connection, payment_states=self._payment_states)
        self._snapshot = Snapshot(catalogue, SearchIndex(catalogue))

    async def refresh_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:  # keep serving the last good catalogue; retry next tick
                log.exception("apogee catalogue refresh failed")
