from __future__ import annotations

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

StateDep = Annotated[ApogeeState, Depends(state_of(ApogeeState))]


def _snapshot(state: StateDep) -> Snapshot:
    return state.catalogue.snapshot


def _database(state: StateDep) -> Database:
    return state.database


def _settings(state: StateDep) -> Settings:
    return state.settings


SnapshotDep = Annotated[Snapshot, Depends(_snapshot)]
DatabaseDep = Annotated[Database, Depends(_database)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _year(
    snapshot: SnapshotDep,
    year: Annotated[
        int | None,
        Query(
            ge=1900,
            le=2999,
            description="Academic year (COD_ANU); the current one if omitted",
            examples=[2026],
        ),
    ] = None,
) -> int:
    return resolve_year(snapshot.catalogue, year)


def _code(
    snapshot: SnapshotDep,
    code: Annotated[
        str,
        Path(
            pattern=CODE_PATTERN,
            description="VET (COD_ETP-COD_VRS_VET), ELP, group or série",
            examples=["L1A001-1"],
        ),
    ],
) -> CodeEntry:
    return find_code(snapshot.catalogue, code)


YearDep = Annotated[int, Depends(_year)]
CodeDep = Annotated[CodeEntry, Depends(_code)]
