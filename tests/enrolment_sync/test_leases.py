"""A run whose executor died: resumed by the running service once the dead lease runs out.

Regression: a service restarted right after a crash found its predecessor's lease still running,
skipped the run at startup and never looked again, so the run stayed "applying" until another
restart (and ``:resume`` was accepted but then refused by the lease, silently).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from fusion.asgi import HostedApp
from fusion.bus import MemoryBus
from fusion.tasks import TaskSupervisor
from fusion.testing.rabbit import wait_until
from services.enrolment_sync.app import create_app
from services.enrolment_sync.errors import RunBusy
from services.enrolment_sync.leases import check_not_held_elsewhere
from services.enrolment_sync.models import SyncRun, utcnow
from services.enrolment_sync.runner import SyncRunner
from services.enrolment_sync.runs import create_run, get_run
from sim.moodle.entities import UE_ACTIVE

from .conftest import World
from .merged import api_settings
from .test_runs import STUDENTS, enrolment, seeded

LEASE_SECONDS = 1.0


async def test_a_run_left_by_a_dead_process_resumes_once_its_lease_runs_out(
    world: World,
) -> None:
    course, users = await seeded(world)
    async with world.units() as uow:
        run = await create_run(uow, kind="full", trigger="test")
    assert run.id is not None
    planned = await world.execute(run.id, should_stop=lambda: True)  # planned, nothing applied
    assert (planned.status, planned.batches_applied) == ("stopped", 0)
    async with world.db.unit_of_work() as session:  # as a process killed mid-run leaves it
        await session.execute(
            update(SyncRun)
            .where(col(SyncRun.id) == run.id)
            .values(
                status="applying",
                lease_owner="dead-host:1234:0",
                lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS),
            )
        )
    settings = api_settings(world.settings.database_url, run_lease_seconds=LEASE_SECONDS)
    bus = MemoryBus()
    app = create_app(settings, seams=world.seams(bus))
    async with bus, HostedApp(app).running():  # started while the dead lease still runs

        async def finished() -> SyncRun | None:
            async with world.db.session() as session:
                current = await get_run(session, run.id or 0)
            return current if current.status not in ("applying", "stopped") else None

        resumed = await wait_until(finished, seconds=30)
    assert resumed.status == "completed"
    assert all(enrolment(world, course, users[s]) == UE_ACTIVE for s in STUDENTS)


async def test_a_run_is_queued_once_however_often_it_is_named() -> None:
    executed: list[int] = []

    async def execute(run_id: int) -> None:
        executed.append(run_id)

    runner = SyncRunner(execute=execute)
    runner.submit(7)
    runner.submit(7, urgent=True)  # the lease watcher and a resume request, say
    supervisor = TaskSupervisor()
    supervisor.start("runner", runner.work)
    await runner.idle()
    runner.submit(7)  # once done, it may be named again
    await runner.idle()
    await supervisor.stop()
    assert executed == [7, 7]


def test_resuming_a_run_another_live_process_holds_is_a_conflict() -> None:
    held = SyncRun(
        id=7,
        kind="full",
        trigger="api",
        status="applying",
        lease_owner="other-host:99:abcd",
        lease_until=utcnow() + timedelta(minutes=5),
    )
    with pytest.raises(RunBusy) as caught:
        check_not_held_elsewhere(held)
    assert caught.value.status_code == 409
    assert "other-host" in caught.value.message_fr
    expired = SyncRun(
        id=8,
        kind="full",
        trigger="api",
        status="applying",
        lease_owner="other-host:99:abcd",
        lease_until=(utcnow() - timedelta(seconds=1)).replace(tzinfo=None),
    )
    check_not_held_elsewhere(expired)  # a dead process's lease ran out: resumable
