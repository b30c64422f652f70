"""The catalogue and its search index, swapped whole on each refresh so readers never see a
half-built one.

At university scale they are ~400,000 long-lived objects. A ``members:bulk`` read allocates
half a million short-lived rows, which triggers full cyclic-GC passes, and each pass would
walk the whole catalogue again: that was half of a bulk read's CPU time. So after each swap
the heap is collected once and its survivors are frozen (``gc.freeze``): the collector then
ignores them, while reference counting still frees an old catalogue the moment it is dropped.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fusion.db import Database
from fusion.errors import DependencyUnavailable
from services.apogee_api.catalogue import Catalogue
from services.apogee_api.offer import load_catalogue
from services.apogee_api.search import SearchIndex


class CatalogueNotLoaded(DependencyUnavailable):
    code = "catalogue_not_loaded"


@dataclass(frozen=True)
class Snapshot:
    catalogue: Catalogue
    index: SearchIndex
    # Answers built from this snapshot alone (``lookup_cache``): they go with it on a refresh.
    responses: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


class CatalogueStore:
    def __init__(self, *, database: Database, payment_states: Sequence[str]) -> None:
        self._database = database
        self._payment_states = tuple(payment_states)
        self._snapshot: Snapshot | None = None

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise CatalogueNotLoaded(
                "The Apogée catalogue is not loaded yet; try again in a moment.",
                message_fr="Le catalogue Apogée n'est pas encore chargé ; réessayez dans un "
                "instant.",
            )
        return self._snapshot

    @property
    def current(self) -> Snapshot | None:
        """The snapshot served now, or None before the first refresh (never raises)."""
        return self._snapshot

    async def check_loaded(self) -> None:
        self.snapshot  # noqa: B018 (raises until the first refresh succeeded)

    async def refresh(self) -> None:
        async with self._database.engine.connect() as connection:
            catalogue = await load_catalogue(connection, payment_states=self._payment_states)
        self._snapshot = Snapshot(catalogue, SearchIndex(catalogue))
        _freeze_long_lived()


def _freeze_long_lived() -> None:
    # Unfreeze first so that a previous catalogue caught in a reference cycle is still
    # collected; one full pass per refresh (every few minutes) replaces one per bulk read.
    gc.unfreeze()
    gc.collect()
    gc.freeze()
