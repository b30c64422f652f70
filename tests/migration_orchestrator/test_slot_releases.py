"""A claim that finds every slot of its platform busy waits for one to be released, and gets
the next backup as soon as the running one is stored, without asking again."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import REGISTRY

from fusion.bus import MemoryBus
from fusion.testing.rabbit import wait_until

from .test_migration_flow import wait_for
from .world import ADMIN, World, migration_world, one_slot

SERVICE = {"Authorization": "Bearer demo-service"}
WORKER_API = "/migrations/v1/worker"


async def queued(world: World, count: int) -> list[int]:
    ids = []
    for n in range(count):
        course = world.sim["ub1"].add_course(f"WAIT-{n}", f"Cours {n}", 1).id
        body = {
            "source_platform": "ub1",
            "source_course_id": course,
            "target_category_id": 1,
            "waive_codes": True,
        }
        created = await world.client.post("/migrations/v1/migrations", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    for migration_id in ids:
        await wait_for(world.client, migration_id, "backup_queued")
    return ids


async def claim(world: World, worker: str) -> dict[str, Any]:
    answer = await world.client.post(
        f"{WORKER_API}/backups:claim", json={"platform": "ub1", "worker": worker}, headers=SERVICE
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def upload(world: World, migration_id: int, worker: str) -> httpx.Response:
    content = b"not really a backup"
    return await world.client.put(
        f"{WORKER_API}/backups/{migration_id}/file",
        content=content,
        headers={
            **SERVICE,
            "x-fusion-worker": worker,
            "x-content-sha256": hashlib.sha256(content).hexdigest(),
            "content-type": "application/vnd.moodle.backup",
        },
    )


def claims_waiting() -> float:
    return (
        REGISTRY.get_sample_value(
            "fusion_migration_orchestrator_claims_waiting", {"platform": "ub1"}
        )
        or 0.0
    )


async def test_a_claim_waiting_on_a_busy_platform_gets_the_slot_its_release_frees(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        MemoryBus() as bus,
        migration_world(
            database_url,
            tmp_path,
            bus=bus,
            platforms_for=one_slot,
            backup_claim_wait_seconds=20.0,
        ) as world,
    ):
        first, second = await queued(world, 2)
        running = await claim(world, "worker-a")
        assert (running["status"], running["migration_id"]) == ("claimed", first)

        waiting = asyncio.create_task(claim(world, "worker-b"))
        await wait_until(lambda: _when(claims_waiting() == 1), seconds=10)
        assert not waiting.done()
        stored = await upload(world, first, "worker-a")
        assert stored.status_code == 200, stored.text

        granted = await asyncio.wait_for(waiting, 10)
        assert (granted["status"], granted["migration_id"]) == ("claimed", second)
        assert claims_waiting() == 0


async def test_a_claim_still_busy_when_its_wait_runs_out_answers_busy(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        MemoryBus() as bus,
        migration_world(
            database_url,
            tmp_path,
            bus=bus,
            platforms_for=one_slot,
            backup_claim_wait_seconds=0.2,
        ) as world,
    ):
        await queued(world, 2)
        assert (await claim(world, "worker-a"))["status"] == "claimed"
        assert (await claim(world, "worker-b"))["status"] == "busy"
        assert claims_waiting() == 0


async def _when(condition: bool) -> bool | None:
    return True if condition else None
