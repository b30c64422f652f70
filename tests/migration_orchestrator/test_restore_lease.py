"""A restore has a lease: one not reported within the target's restore timeout is queued again
with a new request (an older request is refused), then fails at the limit of attempts; a request
waiting behind restores that keep starting is not presumed lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from fusion.bus import MemoryBus
from fusion.contracts import Envelope, RunRestore
from fusion.db import Database
from fusion.settings import MoodlePlatform
from services.migration_orchestrator.migrations.models import (
    Migration,
    MigrationLog,
    messaging,
    metadata,
    utcnow,
)
from services.migration_orchestrator.migrations.restores import expire_restores, fail_expired
from services.migration_orchestrator.workers.runtime import restore_queue

from .test_migration_flow import wait_for
from .test_restore_area import (
    CATEGORY,
    areas,
    courses_of,
    messages,
    migration_waiting_for_its_restore,
    worker_call,
)
from .world import migration_world, platforms


def short_restore_timeout(sim_url: str) -> list[MoodlePlatform]:
    return [
        p.model_copy(update={"cli_timeout_seconds": 1.0}) if p.name == "target" else p
        for p in platforms(sim_url)
    ]


async def next_request(requests: list[Envelope], seen: int) -> Envelope:
    for _ in range(200):  # bounded: ~20 s
        if len(requests) > seen:
            return requests[seen]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no restore request after the {seen} seen")


@pytest.mark.slow  # a backup, then two leases running out
async def test_a_restore_nobody_reports_is_requested_again_then_fails(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        MemoryBus() as bus,
        migration_world(
            database_url,
            tmp_path,
            bus=bus,
            platforms_for=short_restore_timeout,
            restore_grace_seconds=0.5,
            lease_watch_seconds=0.2,
            backup_max_attempts=2,
        ) as world,
    ):
        requests: list[Envelope] = []

        async def hold(envelope: Envelope) -> None:  # a restore queue whose worker does nothing
            requests.append(envelope)

        await bus.subscribe(restore_queue(world.worker_settings()), hold)
        migration_id = await migration_waiting_for_its_restore(world)
        before = courses_of(world, CATEGORY)
        first = await next_request(requests, 0)
        assert RunRestore.model_validate(first.payload).migration_id == migration_id
        # A worker starts the first request and dies: never reported.
        path = f"/restores/{migration_id}/start"
        started = await worker_call(
            world, path, {"worker": "dead", "message": str(first.message_id)}
        )
        assert started.status_code == 200, started.text
        assert areas(world, migration_id) == [started.json()["category_id"]]

        second = await next_request(requests, 1)
        assert second.message_id != first.message_id
        # The first request, redelivered late, cannot start over the second.
        stale = await worker_call(world, path, {"worker": "late", "message": str(first.message_id)})
        assert stale.status_code == 409, stale.text
        logs = await messages(world, migration_id)
        assert "restore queued again (attempt 2 of 2)" in logs, logs

        # The second request starts (the area emptied again), and its worker dies too: the
        # migration fails at step restore.
        again = await worker_call(
            world, path, {"worker": "dead2", "message": str(second.message_id)}
        )
        assert again.status_code == 200, again.text
        failed = await wait_for(world.client, migration_id, "failed", "done")
        assert (failed["state"], failed["step"]) == ("failed", "restore"), failed
        assert "2 attempt(s) were not reported" in failed["reason"]
        assert "2 tentative(s) sans réponse" in failed["reason_fr"]
        assert areas(world, migration_id) == []  # the first attempt's area went with it
        assert len(requests) == 2
        assert courses_of(world, CATEGORY) == before


def restoring(
    migration_id: int, *, queued_ago: float, started_ago: float | None, lease_in: float
) -> Migration:
    now = utcnow()
    return Migration(
        id=migration_id,
        source_platform="ub1",
        source_course_id=migration_id,
        target_category_id=CATEGORY,
        requested_by="admin",
        authorised_as="admin",
        state="restoring",
        restore_attempts=1,
        restore_queued_at=now - timedelta(seconds=queued_ago),
        restore_started_at=None if started_ago is None else now - timedelta(seconds=started_ago),
        lease_until=now + timedelta(seconds=lease_in),
    )


async def test_a_request_behind_a_moving_queue_waits_and_one_the_queue_passed_is_lost(
    database_url: str,
) -> None:
    database = Database(database_url)
    await database.create_all(metadata)

    async def expire() -> list[tuple[int, bool]]:
        async with database.unit_of_work() as session:
            expired = await expire_restores(session, lease_seconds=10, max_attempts=2)
        return [(e.migration_id, e.failed) for e in expired]

    async def change(migration_id: int, **values: object) -> Migration:
        async with database.unit_of_work() as session:
            migration = await session.get(Migration, migration_id)
            assert migration is not None
            for name, value in values.items():
                setattr(migration, name, value)
        return migration

    try:
        async with database.unit_of_work() as session:
            # 1 was queued first and started a moment ago: the queue moves; 2 waits behind it,
            # its own deadline passed.
            session.add(restoring(1, queued_ago=60, started_ago=1, lease_in=10))
            session.add(restoring(2, queued_ago=30, started_ago=None, lease_in=-0.1))
        assert await expire() == []
        waiting = await change(2)
        assert waiting.lease_until is not None
        assert waiting.lease_until > utcnow()
        assert waiting.restore_attempts == 1

        # Nothing queued before 2 started since 2 was queued: its request was lost.
        past = utcnow() - timedelta(seconds=0.1)
        await change(1, restore_started_at=utcnow() - timedelta(seconds=40))
        await change(2, lease_until=past)
        assert await expire() == [(2, False)]
        waiting = await change(2)
        assert (waiting.restore_attempts, waiting.lease_until) == (2, None)
        async with database.session() as session:
            outbox = messaging.outbox
            query = select(outbox.c.envelope).where(outbox.c.type == "restore.run")
            sent = [
                Envelope.model_validate_json(e) for e in (await session.execute(query)).scalars()
            ]
            logs = (
                await session.execute(
                    select(col(MigrationLog.message)).where(col(MigrationLog.migration_id) == 2)
                )
            ).scalars()
            assert "restore request 1 started by no worker and not reported within 10 s" in list(
                logs
            )
        assert [str(e.message_id) for e in sent] == [waiting.restore_message]

        # The next pass gives the new request its deadline; once past, the limit is reached.
        assert await expire() == []
        waiting = await change(2)
        assert waiting.lease_until is not None
        assert waiting.lease_until > utcnow()
        await change(2, lease_until=past)
        async with database.unit_of_work() as session:
            [last] = await expire_restores(session, lease_seconds=10, max_attempts=2)
        assert (last.migration_id, last.failed) == (2, True)
        assert (await change(2)).state == "restoring"  # failed only once its area is cleared
        async with database.unit_of_work() as session:
            assert await fail_expired(session, last, lease_seconds=10, lines=[])
        failed = await change(2)
        assert (failed.state, failed.step) == ("failed", "restore")
        assert failed.reason is not None
        assert "2 attempt(s)" in failed.reason
    finally:
        await database.dispose()
