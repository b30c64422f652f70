"""All-in-one mode on SQLite: a batch of 200 migrations is accepted while the workers back up,
restore and report (they write the same database file at the same time). Before SQLite
transactions that start with a savepoint took the write lock at once, such a batch failed with
"database is locked": its deferred transaction read, another connection committed, and SQLite
refused to upgrade the stale read to a write (WAL's SQLITE_BUSY_SNAPSHOT, which waits for
nothing)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fusion.bus import MemoryBus

from .test_migration_flow import V1
from .test_platform_concurrency import add_courses, fast_platforms
from .world import ADMIN, World, migration_world

pytestmark = pytest.mark.slow  # 220 migrations queued, workers running
BATCH = 200


async def test_a_batch_of_200_on_sqlite_while_workers_run(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'orchestrator.db'}"
    log = tmp_path / "backups.log"
    log.touch()
    async with (
        MemoryBus() as bus,
        migration_world(
            url,
            tmp_path,
            bus=bus,
            platforms_for=lambda sim_url: fast_platforms(sim_url, log, concurrency=2),
            lease_watch_seconds=0.2,
        ) as world,
    ):
        courses = add_courses(world.sim, BATCH + 20)
        await world.start_workers("ub1", restore_concurrency=2)
        # 20 migrations first, one request each: the workers are busy writing meanwhile.
        for course in courses[:20]:
            body = {
                "source_platform": "ub1",
                "source_course_id": course,
                "target_category_id": 2,
                "waive_codes": True,
            }
            created = await world.client.post(V1, json=body, headers=ADMIN)
            assert created.status_code == 201, created.text
        csv = "source_platform,source_course_id,target_category_id,waive_codes\n" + "".join(
            f"ub1,{course},2,1\n" for course in courses[20:]
        )
        batch = await world.client.post(
            f"{V1}:batch", content=csv.encode(), headers={**ADMIN, "content-type": "text/csv"}
        )
        assert batch.status_code == 200, batch.text
        report = batch.json()
        assert (report["accepted"], report["refused"]) == (BATCH, []), report
        # and the workers went on: migrations of the first 20 finish
        done = 0
        for _ in range(600):  # bounded: ~60 s
            listed = await world.client.get(V1, params={"state": "done"}, headers=ADMIN)
            done = len(listed.json()["items"])
            if done >= 5:
                break
            await asyncio.sleep(0.1)
        assert done >= 5
        # The rest is cancelled and what runs let finish, so that nothing is cut mid-write.
        for migration_id in report["migration_ids"]:
            await world.client.post(f"{V1}/{migration_id}/cancel", headers=ADMIN)
        await quiet(world)


async def quiet(world: World) -> None:
    for _ in range(600):  # bounded: ~60 s
        listed = (await world.client.get(V1, params={"limit": 500}, headers=ADMIN)).json()
        if all(m["state"] in ("done", "cancelled", "failed") for m in listed["items"]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("migrations still running")
