"""Imports and plans whose process died are taken over: at start (and every half lease) a job
whose lease ran out is run again — an import read again, a plan's apply resumed — up to the
last attempt, then failed with the reason in English and French; a job whose lease another
live process holds is left alone; a run whose job was taken over stops writing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from fusion.db import Database
from fusion.unit_of_work import UnitOfWork, open_unit_of_work
from services.identity.imports import Pages, create_job, run_job
from services.identity.leases import Lease
from services.identity.lifecycle import MAX_ATTEMPTS
from services.identity.models import (
    ImportFile,
    ImportJob,
    Person,
    Plan,
    import_history,
    messaging,
    metadata,
    plan_history,
    utcnow,
)
from services.identity.records import DirectoryEntry
from sim.moodle.state import SimMoodle

from .conftest import ADMIN, Identity, moves, running_identity
from .test_plans import DIRECTORY, seed_drift

DEAD = "replica-b:4242:0badf00d/00000001"  # a process that is gone: its lease ran out
ALIVE = "replica-c:4343:0c0ffee0/00000002"  # a process still at work: its lease runs


async def _write(url: str, *statements: Any, add: list[Any] | None = None) -> None:
    database = Database(url)
    try:
        await database.create_all(metadata)
        async with database.unit_of_work() as session:
            for row in add or []:
                session.add(row)
            for statement in statements:
                await session.execute(statement)
    finally:
        await database.dispose()


def _held_by(owner: str, *, ago: float) -> dict[str, Any]:
    """A lease held by ``owner`` that ran out ``ago`` seconds ago (negative: still running)."""
    return {"lease_owner": owner, "lease_until": utcnow() - timedelta(seconds=ago)}


async def _computed_plan(sim: SimMoodle, url: str) -> int:
    """A first life of the service: everything loaded, a plan for the target computed."""
    async with running_identity(sim, url) as first:
        await first.load_file(DIRECTORY.encode(), source="ldif")
        for name in ("ub1", "target"):
            assert (await first.load_platform(name))["state"] == "done"
        computed = await first.http.post(
            "/identity/v1/plans", json={"platform": "target"}, headers=ADMIN
        )
        assert computed.status_code == 201, computed.text
        plan: dict[str, Any] = computed.json()
        assert plan["changes"] > 0
        return int(plan["id"])


async def _get(identity: Identity, url: str) -> dict[str, Any]:
    answer = await identity.http.get(url, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_jobs_whose_process_died_are_resumed_at_start_and_finish(
    sim: SimMoodle, database_url: str
) -> None:
    seed_drift(sim)
    plan_id = await _computed_plan(sim, database_url)
    # the process that approved the plan and started two imports dies: its rows stay behind
    live = ImportJob(source="moodle_ws", platform="ub1", state="running", pages=1, processed=2)
    from_file = ImportJob(source="ldif", state="running", attempts=1)
    await _write(database_url, add=[live, from_file])
    await _write(
        database_url,
        update(ImportJob).where(col(ImportJob.id) == live.id).values(**_held_by(DEAD, ago=5)),
        update(ImportJob).where(col(ImportJob.id) == from_file.id).values(**_held_by(DEAD, ago=1)),
        update(Plan)
        .where(col(Plan.id) == plan_id)
        .values(
            state="applying", approved_by="admin", requested_by="admin", **_held_by(DEAD, ago=1)
        ),
        add=[ImportFile(import_id=from_file.id or 0, data=DIRECTORY.encode())],
    )
    mails_before = {u.username: u.email for u in sim["target"].users.values()}

    async with running_identity(sim, database_url) as second:
        done = await second.wait_import({"id": live.id})
        assert (done["state"], done["attempts"], done["error"]) == ("done", 1, None)
        assert done["unchanged"] >= 2  # read again from the start: nothing changed since
        again = await second.wait_import({"id": from_file.id})
        assert (again["state"], again["attempts"]) == ("done", 2)
        assert again["unchanged"] == 4  # the kept file, read again: the same four persons
        applied = await second.wait_plan({"id": plan_id}, {"applied", "failed"})
        assert applied["state"] == "applied", applied
        assert all(s["status"] == "applied" for s in applied["steps"]), applied["steps"]
        plan_moves = await moves(second, plan_history, plan_id)
        assert plan_moves[-2:] == ["applying", "applied"]
        assert await moves(second, import_history, live.id or 0) == ["running", "done"]
        files = await _rows(database_url, select(ImportFile))
        leases = await _rows(
            database_url,
            select(col(ImportJob.lease_owner)).where(col(ImportJob.lease_owner).is_not(None)),
        )
    assert files == []  # finished: the file dropped
    assert leases == []  # and nobody holds them
    mails_after = {u.username: u.email for u in sim["target"].users.values()}
    assert mails_after != mails_before
    assert mails_after["amoreau"] == "anne.moreau@u-bordeaux.fr"


async def _rows(url: str, query: Any) -> list[Any]:
    database = Database(url)
    try:
        async with database.session() as session:
            return list((await session.execute(query)).all())
    finally:
        await database.dispose()


async def test_a_job_held_by_a_live_process_is_left_alone_and_the_last_attempt_fails(
    sim: SimMoodle, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
    held = ImportJob(source="moodle_ws", platform="ub1", state="running")
    worn = ImportJob(source="moodle_ws", platform="ub1", state="running", attempts=MAX_ATTEMPTS - 1)
    ours = ImportJob(source="moodle_ws", platform="ub2", state="queued")
    await _write(url, add=[held, worn, ours])
    await _write(
        url,
        update(ImportJob).where(col(ImportJob.id) == held.id).values(**_held_by(ALIVE, ago=-3600)),
        update(ImportJob).where(col(ImportJob.id) == worn.id).values(**_held_by(DEAD, ago=1)),
        update(ImportJob).where(col(ImportJob.id) == ours.id).values(**_held_by(DEAD, ago=1)),
    )
    async with running_identity(sim, url) as identity:
        resumed = await identity.wait_import({"id": ours.id})  # the start's pass did run
        assert (resumed["state"], resumed["attempts"]) == ("done", 1)
        failed = await _get(identity, f"/identity/v1/imports/{worn.id}")
        assert (failed["state"], failed["attempts"]) == ("failed", MAX_ATTEMPTS)
        assert failed["error"] == (
            f"gave up after {MAX_ATTEMPTS} attempts: "
            "the process running it stopped (its lease ran out)"
        )
        assert failed["error_fr"] == (
            f"abandon après {MAX_ATTEMPTS} tentatives : "
            "le processus qui l'exécutait s'est arrêté (son bail a expiré)"
        )
        left = await _get(identity, f"/identity/v1/imports/{held.id}")
        assert (left["state"], left["attempts"], left["pages"]) == ("running", 0, 0)
    owner = await _rows(url, select(col(ImportJob.lease_owner)).where(col(ImportJob.id) == held.id))
    assert owner == [(ALIVE,)]


Units = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@pytest.fixture
async def units(tmp_path: Path) -> AsyncIterator[Units]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    await database.create_all(metadata)
    yield lambda: open_unit_of_work(database, outbox=messaging.outbox)
    await database.dispose()


async def test_a_run_whose_job_was_taken_over_stops_writing(units: Units) -> None:
    job, lease = await create_job(
        units, source="ldif", platform=None, requested_by="admin", lease_seconds=30
    )
    entries = [DirectoryEntry(f"u{n}", f"u{n}@u-bordeaux.fr", "Durand", "Zoé") for n in range(4)]

    async def pages() -> AsyncIterator[list[DirectoryEntry]]:
        yield entries[:2]
        async with units() as uow:  # meanwhile, another replica took the job over
            await uow.session.execute(
                update(ImportJob).where(col(ImportJob.id) == job.id).values(lease_owner=ALIVE)
            )
        yield entries[2:]

    source: Callable[[], Pages] = pages
    stopped = await run_job(source, lease=lease, units=units, target=None)
    assert (stopped.state, stopped.pages, stopped.lease_owner) == ("running", 1, ALIVE)
    async with units() as uow:
        persons = (await uow.session.execute(select(col(Person.uid)))).all()
    assert len(persons) == 2  # the page read after the takeover was not written


def _update_calls(sim: SimMoodle) -> int:
    count = sim.counters("target").get("core_user_update_users")
    return 0 if count is None else count["calls"]


async def test_applying_a_plan_another_live_process_applies_starts_nothing_here(
    sim: SimMoodle, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
    seed_drift(sim)
    plan_id = await _computed_plan(sim, url)
    running = {"state": "applying", "approved_by": "admin", **_held_by(ALIVE, ago=-3600)}
    await _write(url, update(Plan).where(col(Plan.id) == plan_id).values(**running))
    calls = _update_calls(sim)
    async with running_identity(sim, url) as identity:
        again = await identity.http.post(f"/identity/v1/plans/{plan_id}/apply", headers=ADMIN)
        assert again.status_code == 202, again.text
        assert again.json()["state"] == "applying"
        assert _update_calls(identity.sim) == calls  # nothing sent to Moodle from here
    owner = await _rows(url, select(col(Plan.lease_owner)).where(col(Plan.id) == plan_id))
    assert owner == [(ALIVE,)]


async def test_the_heartbeat_renews_a_lease_until_it_is_taken_over(units: Units) -> None:
    job, granted = await create_job(
        units, source="ldif", platform=None, requested_by="admin", lease_seconds=30
    )
    lease = Lease(ImportJob, granted.entity_id, granted.holder, seconds=0.3)  # beats every 0.1 s

    async def until() -> Any:
        async with units() as uow:
            found = await uow.session.get(ImportJob, job.id, populate_existing=True)
            assert found is not None
            return found.lease_until

    first = await until()
    async with lease.kept(units):
        for _ in range(100):  # bounded: about 5 s
            if await until() != first:
                break
            await asyncio.sleep(0.05)
    assert await until() != first  # renewed by the heartbeat
    async with units() as uow:
        await uow.session.execute(
            update(ImportJob).where(col(ImportJob.id) == job.id).values(lease_owner=ALIVE)
        )
    async with units() as uow:
        assert not await lease.renew(uow.session)  # another holder: this run's lease is gone
