"""Imports and plans on the kit's lifecycle: moves the table refuses, crashes retried up to the
last attempt, Fusion errors failing at once; every move with its history row and its event."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from sqlalchemy import select

from fusion.db import Database
from fusion.errors import BadRequest
from fusion.lifecycle import IllegalTransition
from fusion.unit_of_work import UnitOfWork, open_unit_of_work
from services.identity.imports import Pages, create_job, run_job
from services.identity.lifecycle import (
    MAX_ATTEMPTS,
    PLAN_LIFECYCLE,
    ImportState,
    PlanState,
)
from services.identity.models import Plan, import_history, messaging, metadata
from services.identity.plan_runs import start_revert
from services.identity.plans import PlanStateConflict
from services.identity.records import DirectoryEntry

Units = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@pytest.fixture
async def units(tmp_path: Path) -> AsyncIterator[Units]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    await database.create_all(metadata)
    yield lambda: open_unit_of_work(database, outbox=messaging.outbox)
    await database.dispose()


def _entries(count: int) -> list[DirectoryEntry]:
    return [DirectoryEntry(f"u{n}", f"u{n}@u-bordeaux.fr", "Durand", "Zoé") for n in range(count)]


def _source(failures: list[BaseException], count: int = 5) -> Callable[[], Pages]:
    """A directory read two entries a page, raising the next of ``failures`` mid-read."""

    async def pages() -> AsyncIterator[list[DirectoryEntry]]:
        entries = _entries(count)
        yield entries[:2]
        if failures:
            raise failures.pop(0)
        for start in range(2, count, 2):
            yield entries[start : start + 2]

    return pages


async def _history(units: Units, job_id: int) -> list[tuple[str | None, str, int]]:
    h = import_history.c
    query = select(h.from_state, h.to_state, h.attempts).where(h.entity_id == str(job_id))
    async with units() as uow:
        rows = await uow.session.execute(query.order_by(h.id))
        return [(r.from_state, r.to_state, r.attempts) for r in rows]


async def _published(units: Units) -> list[str]:
    async with units() as uow:
        outbox = messaging.outbox
        query = select(outbox.c.type).order_by(outbox.c.created_at)
        return [row.type for row in await uow.session.execute(query)]


async def test_a_crash_mid_import_reads_the_source_again_and_the_reload_changes_nothing(
    units: Units,
) -> None:
    job, lease = await create_job(
        units, source="ldif", platform=None, requested_by="admin", lease_seconds=30
    )
    done = await run_job(_source([ConnectionResetError()]), lease=lease, units=units, target=None)
    assert (done.state, done.attempts, done.error) == (ImportState.DONE, 1, None)
    assert (done.created, done.unchanged) == (5, 2)  # the first page came back unchanged
    assert await _history(units, job.id or 0) == [
        (None, "queued", 0),
        ("queued", "running", 0),
        ("running", "running", 1),
        ("running", "done", 1),
    ]
    published = await _published(units)
    assert published.count("identity_import.state_changed") == 4
    assert published[-1] == "identity.import_finished"


async def test_an_import_that_keeps_crashing_fails_after_the_last_attempt(units: Units) -> None:
    job, lease = await create_job(
        units, source="ldif", platform=None, requested_by="admin", lease_seconds=30
    )
    crashes: list[BaseException] = [RuntimeError() for _ in range(MAX_ATTEMPTS)]
    failed = await run_job(_source(crashes), lease=lease, units=units, target=None)
    assert (failed.state, failed.attempts) == (ImportState.FAILED, MAX_ATTEMPTS)
    assert failed.error is not None
    assert "gave up after 3 attempts" in failed.error
    assert failed.error_fr == "abandon après 3 tentatives : échec imprévu (RuntimeError)"
    assert [to for _, to, _ in await _history(units, job.id or 0)][-1] == "failed"
    assert (await _published(units))[-1] == "identity.import_finished"


async def test_a_fusion_error_fails_the_import_at_once(units: Units) -> None:
    job, lease = await create_job(
        units, source="ldif", platform=None, requested_by="admin", lease_seconds=30
    )
    refused = BadRequest("The file is not LDIF.", message_fr="Le fichier n'est pas au format LDIF.")
    failed = await run_job(_source([refused]), lease=lease, units=units, target=None)
    assert (failed.id, failed.state, failed.attempts) == (job.id, ImportState.FAILED, 0)
    assert (failed.error, failed.error_fr) == (
        "The file is not LDIF.",
        "Le fichier n'est pas au format LDIF.",
    )
    assert failed.lease_owner is None  # finished: nobody holds it


async def test_a_plan_moves_only_along_its_table(units: Units) -> None:
    async with units() as uow:
        plan = Plan(platform="target")
        uow.session.add(plan)
        await uow.session.flush()
        await PLAN_LIFECYCLE.enter(uow, plan, cause="computed")
        with pytest.raises(IllegalTransition):
            await PLAN_LIFECYCLE.transition(uow, plan, PlanState.APPLYING, cause="unapproved")
        plan_id = plan.id or 0
    async with units() as uow:
        with pytest.raises(PlanStateConflict):  # nothing applied yet: nothing to revert
            await start_revert(uow, plan_id, actor="admin", lease_seconds=30)
    for state in PlanState:
        assert PLAN_LIFECYCLE.is_terminal(state) == (state == PlanState.REVERTED)
