from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query

from fusion.db import Database
from fusion.dependencies import state_of
from services.apogee_api.catalogue import CodeEntry
from services.apogee_api.codes import find_code, resolve_year
from services.apogee_api.schemas import CODE_PATTERN
from services.apogee_api.settings import Settings
from services.apogee_api.state import ApogeeState
from services.apogee_api.store import Snapshot

# Every dependency is ``async def``: they only read memory, and a plain ``def`` would make
# FastAPI run each one in a worker thread (most of a code lookup's time, by profile).
StateDep = Annotated[ApogeeState, Depends(state_of(ApogeeState))]


async def _snapshot(state: StateDep) -> Snapshot:
    return state.catalogue.snapshot


async def _database(state: StateDep) -> Database:
    return state.database


async def _settings(state: StateDep) -> Settings:
    return state.settings


SnapshotDep = Annotated[Snapshot, Depends(_snapshot)]
DatabaseDep = Annotated[Database, Depends(_database)]
SettingsDep = Annotated[Settings, Depends(_settings)]


YEAR_MIN, YEAR_MAX = 1900, 2999  # also the bounds the code lookup's fast path checks
YearQuery = Annotated[
    int | None,
    Query(
        ge=YEAR_MIN,
        le=YEAR_MAX,
        description="Academic year (COD_ANU); the current one if omitted",
        examples=[2026],
    ),
]
CodePath = Annotated[
    str,
    Path(
        pattern=CODE_PATTERN,
        description="VET (COD_ETP-COD_VRS_VET), ELP, group or série",
        examples=["L1A001-1"],
    ),
]


async def _year(snapshot: SnapshotDep, year: YearQuery = None) -> int:
    return resolve_year(snapshot.catalogue, year)


async def _code(snapshot: SnapshotDep, code: CodePath) -> CodeEntry:
    return find_code(snapshot.catalogue, code)


YearDep = Annotated[int, Depends(_year)]
CodeDep = Annotated[CodeEntry, Depends(_code)]


@dataclass(frozen=True, slots=True)
class CodeLookup:
    snapshot: Snapshot
    entry: CodeEntry
    year: int


async def _code_lookup(state: StateDep, code: CodePath, year: YearQuery = None) -> CodeLookup:
    """The snapshot, the code and the year in one dependency: the hottest route (a code lookup)
    pays for two dependencies instead of five (FastAPI's cost per dependency dominates it)."""
    snapshot = state.catalogue.snapshot
    catalogue = snapshot.catalogue
    return CodeLookup(snapshot, find_code(catalogue, code), resolve_year(catalogue, year))


CodeLookupDep = Annotated[CodeLookup, Depends(_code_lookup)]
