"""Done-when 2: 300 migrations queued on one platform whose concurrency is 2, two backup
worker processes on RabbitMQ: never more than 2 backups run at once there, and all finish."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from fusion.bus import RabbitBus
from fusion.settings import MoodlePlatform
from fusion.testing.rabbit import RABBIT_URL, RabbitNamespace
from fusion.testing.serving import serving
from sim.moodle.state import SimMoodle

from .concurrency import most_at_once
from .world import ADMIN, migration_world

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq, pytest.mark.postgres]
FAST_CLI = Path(__file__).parent / "fast_cli"
COURSES = int(os.environ.get("FUSION_TEST_BULK_COURSES", "300"))


def fast_platforms(sim_url: str, log: Path, *, concurrency: int) -> list[MoodlePlatform]:
    restore = f"{FAST_CLI / 'restore.sh'} {sim_url} --file={{file}} --categoryid={{categoryid}}"
    return [
        MoodlePlatform(
            name=name,
            url=f"{sim_url}/{name}",
            token=SecretStr(f"{name}-token"),
            backup_command=f"{FAST_CLI / 'backup.sh'} {log} {sim_url} {name} "
            "--courseid={courseid} --destination={destination}",
            restore_command=restore,
            concurrency=concurrency,
            welcome_messages_off=name == "target",
        )
        for name in ("ub1", "target")
    ]


def add_courses(sim: SimMoodle, count: int) -> list[int]:
    platform = sim["ub1"]
    return [platform.add_course(f"BULK-{n:04d}", f"Cours {n}", 1).id for n in range(count)]


@contextmanager
def worker_processes(count: int, env: dict[str, str], logs: Path) -> Iterator[None]:
    processes = []
    for n in range(count):
        log = (logs / f"worker-{n}.log").open("wb")
        processes.append(
            (
                subprocess.Popen(
                    [sys.executable, "-m", "launcher.cli", "worker", "backup", "--platform", "ub1"],
                    env={**os.environ, **env, "FUSION_WORKER_NAME": f"worker-{n}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ),
                log,
            )
        )
    try:
        yield
    finally:
        for process, log in processes:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


async def test_two_worker_processes_never_exceed_the_platform_concurrency(
    new_pg_database: object, tmp_path: Path
) -> None:
    namespace = RabbitNamespace()
    exchange, prefix = namespace.exchange(), f"{namespace.prefix}."
    url = await new_pg_database()  # type: ignore[operator]
    log = tmp_path / "backups.log"
    log.touch()
    bus = RabbitBus(RABBIT_URL, exchange=exchange)
    try:
        async with (
            bus,
            migration_world(
                url,
                tmp_path,
                bus=bus,
                platforms_for=lambda sim_url: fast_platforms(sim_url, log, concurrency=2),
                bus_queue_prefix=prefix,
                lease_watch_seconds=2.0,
            ) as world,
        ):
            platforms = world.settings.platforms
            courses = add_courses(world.sim, COURSES)
            await world.start_workers(bus_queue_prefix=prefix, restore_concurrency=4)
            orchestrator_url = await world.stack.enter_async_context(serving(world.app))
            env = {
                "FUSION_WORKER_ENVIRONMENT": "test",
                "FUSION_WORKER_PLATFORMS": json.dumps(
                    [p.model_dump(mode="json") | {"token": f"{p.name}-token"} for p in platforms]
                ),
                "FUSION_WORKER_BUS_URL": RABBIT_URL,
                "FUSION_WORKER_BUS_EXCHANGE": exchange,
                "FUSION_WORKER_BUS_QUEUE_PREFIX": prefix,
                "FUSION_WORKER_ORCHESTRATOR_URL": orchestrator_url,
                "FUSION_WORKER_WORK_DIR": str(tmp_path / "workers"),
                "FUSION_WORKER_BUSY_POLL_SECONDS": "0.05",
                "FUSION_WORKER_LOG_JSON": "false",
            }
            csv = "source_platform,source_course_id,target_category_id,waive_codes\n" + "".join(
                f"ub1,{course},1,true\n" for course in courses
            )
            with worker_processes(2, env, tmp_path):
                await wait_ready(tmp_path, 2)
                report = await world.client.post(
                    "/migrations/v1/migrations:batch",
                    content=csv.encode(),
                    headers={**ADMIN, "content-type": "text/csv"},
                )
                assert report.status_code == 200, report.text
                assert report.json()["accepted"] == COURSES, report.json()["refused"][:3]
                done = await wait_all_done(world.client, report.json()["batch_id"])
            peak, ran = most_at_once(log)
            assert done == COURSES
            assert ran >= COURSES
            assert peak == 2  # the limit, reached and never passed
    finally:
        await delete_queues(prefix)
        await namespace.cleanup()


def _worker_logs(logs: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(logs.glob("worker-*.log"))]


async def wait_ready(logs: Path, count: int) -> None:
    for _ in range(600):  # bounded: at most ~60 s for the processes to start
        if sum(b" ready" in text for text in _worker_logs(logs)) == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(_worker_logs(logs))


async def wait_all_done(client: httpx.AsyncClient, batch_id: str) -> int:
    """How many finished, once none is still running (bounded: ~15 minutes)."""
    for _ in range(1800):
        counts = {}
        for state in ("done", "failed", "blocked"):
            listing = await client.get(
                "/migrations/v1/migrations",
                params={"batch_id": batch_id, "state": state, "limit": 3},
                headers=ADMIN,
            )
            counts[state] = listing.json()["total"]
            if state != "done" and counts[state]:
                raise AssertionError(listing.json()["items"])
        if counts["done"] >= COURSES:
            return counts["done"]
        await asyncio.sleep(0.5)
    return counts["done"]


async def delete_queues(prefix: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        for name in ("steps", "backup.ub1", "restore"):
            for suffix in ("", ".dlq"):
                channel = await connection.channel()
                await channel.queue_delete(f"{prefix}migration_orchestrator.{name}{suffix}")
