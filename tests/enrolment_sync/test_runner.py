"""The run queue (on-demand work ahead of scheduled work) and the schedules that feed it."""

from __future__ import annotations

from datetime import UTC, datetime

from fusion.tasks import TaskSupervisor
from services.enrolment_sync.cron import next_fire
from services.enrolment_sync.runner import SyncRunner
from services.enrolment_sync.settings import Settings


def test_three_runs_a_day_by_default_night_noon_and_evening() -> None:
    expressions = Settings(environment="test").schedules
    day = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    fires = []
    moment = day
    for _ in range(4):
        moment, index = next_fire(expressions, moment)
        fires.append((moment.hour, moment.minute, index))
    assert fires == [(2, 30, 0), (12, 0, 1), (19, 0, 2), (2, 30, 0)]


async def test_on_demand_runs_go_ahead_of_scheduled_ones() -> None:
    order: list[int] = []

    async def execute(run_id: int) -> None:
        order.append(run_id)

    runner = SyncRunner(execute=execute)
    runner.submit(1)
    runner.submit(2)
    runner.submit(3, urgent=True)
    supervisor = TaskSupervisor()
    supervisor.start("runner", runner.work)
    await runner.idle()
    await supervisor.stop()
    assert order == [3, 1, 2]


async def test_a_crashing_run_does_not_stop_the_runner() -> None:
    done: list[int] = []

    async def execute(run_id: int) -> None:
        if run_id == 1:
            raise RuntimeError("boom")
        done.append(run_id)

    runner = SyncRunner(execute=execute)
    runner.submit(1)
    runner.submit(2)
    supervisor = TaskSupervisor()
    supervisor.start("runner", runner.work)
    await runner.idle()
    await supervisor.stop()
    assert done == [2]
