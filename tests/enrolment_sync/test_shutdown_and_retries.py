"""Through the app's real lifespan: a shutdown in the middle of a run stops it between two
batches (nothing reaches Moodle afterwards), and a run whose batch keeps crashing with an
error Fusion does not know is retried at most ``MAX_ATTEMPTS`` times, then failed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

import httpx
from sqlalchemy import select

from fusion.asgi import HostedApp
from fusion.bus import MemoryBus
from fusion.contracts import Envelope, SyncRunStateChanged
from fusion.runtime import Seams
from fusion.testing.rabbit import wait_until
from services.enrolment_sync.app import create_app
from services.enrolment_sync.lifecycle import MAX_ATTEMPTS
from services.enrolment_sync.models import SyncRun, messaging, run_history
from services.enrolment_sync.runs import get_run
from services.enrolment_sync.settings import Settings
from sim.moodle.app import create_sim_app

from .conftest import World
from .merged import ADMIN, api_settings
from .test_runs import seeded

ENROL = "enrol_manual_enrol_users"
Hook = Callable[[str, int], Awaitable[None]]


class WatchedMoodle(httpx.AsyncBaseTransport):
    """The simulator, with every call counted by function and a hook before each one."""

    def __init__(self, world: World, hook: Hook) -> None:
        self._sim = httpx.ASGITransport(app=create_sim_app(world.sim))
        self._hook = hook
        self.calls: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        function = parse_qs(request.content.decode()).get("wsfunction", ["?"])[0]
        self.calls[function] += 1
        await self._hook(function, self.calls[function])
        return await self._sim.handle_async_request(request)


def _settings(world: World, **overrides: object) -> Settings:
    values: dict[str, object] = {"moodle_concurrency": 1}
    settings = api_settings(world.settings.database_url, **(values | overrides))
    settings.moodle_max_input_vars = 3 + 3 * 4  # 4 enrolments per call: 3 batches of 12
    return settings


async def _run(world: World, run_id: int) -> SyncRun:
    async with world.db.session() as session:
        return await get_run(session, run_id)


async def test_a_shutdown_mid_run_stops_it_between_batches_and_moodle_hears_nothing_after(
    world: World,
) -> None:
    await seeded(world)
    in_flight, stopping = asyncio.Event(), asyncio.Event()

    async def hold_the_second_batch(function: str, nth: int) -> None:
        if function == ENROL and nth == 2:
            in_flight.set()
            await stopping.wait()  # the service is asked to stop while this batch is sent

    moodle = WatchedMoodle(world, hold_the_second_batch)
    seams = Seams(
        bus=MemoryBus(), transports={"apogee": world.apogee.transport(), "moodle": moodle}
    )
    hosted = HostedApp(create_app(_settings(world), seams=seams))
    async with hosted.running():
        transport = httpx.ASGITransport(app=hosted)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.post("/sync/v1/runs", json={"kind": "full"}, headers=ADMIN)
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["run"]["id"]
        await asyncio.wait_for(in_flight.wait(), 30)
        stop = hosted.state["runtime"].resources.stop

        async def release_once_stopping() -> None:
            await stop.wait()
            stopping.set()

        releaser = asyncio.create_task(release_once_stopping())
    await releaser  # the lifespan has ended: every task of the service is over
    calls_at_shutdown = dict(moodle.calls)
    run = await _run(world, run_id)
    assert run.status == "stopped"
    assert run.batches_applied == 2  # the one in flight finished and was recorded
    assert run.batches_planned == 6  # 3 enrolment batches, 1 of groups, 2 of members
    assert calls_at_shutdown[ENROL] == 2
    await asyncio.sleep(0.5)  # anything still running would call Moodle meanwhile
    assert dict(moodle.calls) == calls_at_shutdown


async def test_a_batch_crashing_with_an_unknown_error_is_retried_then_the_run_fails(
    world: World,
) -> None:
    course, _ = await seeded(world)

    async def crash_on_enrol(function: str, _nth: int) -> None:
        if function == ENROL:
            raise RuntimeError("the proxy in front of Moodle sent garbage")

    moodle = WatchedMoodle(world, crash_on_enrol)
    seams = Seams(
        bus=MemoryBus(), transports={"apogee": world.apogee.transport(), "moodle": moodle}
    )
    # A one-second lease: the lease watcher takes an abandoned run back every half second.
    hosted = HostedApp(create_app(_settings(world, run_lease_seconds=1.0), seams=seams))
    async with hosted.running():
        transport = httpx.ASGITransport(app=hosted)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.post("/sync/v1/runs", json={"kind": "full"}, headers=ADMIN)
        run_id = answer.json()["run"]["id"]

        async def failed() -> SyncRun | None:
            run = await _run(world, run_id)
            return run if run.status == "failed" else None

        run = await wait_until(failed, seconds=60)
        await asyncio.sleep(1.5)  # one and a half leases: a failed run is not taken back
        assert moodle.calls[ENROL] == MAX_ATTEMPTS
    assert (run.attempts, run.batches_applied) == (MAX_ATTEMPTS, 0)
    assert run.error is not None
    assert f"gave up after {MAX_ATTEMPTS} attempts" in run.error
    assert "RuntimeError: the proxy in front of Moodle sent garbage" in run.error
    assert world.target.enrolled_userids(course) == set()
    async with world.db.session() as session:
        moves = (
            await session.execute(
                select(run_history.c.from_state, run_history.c.to_state)
                .where(run_history.c.entity_id == str(run_id))
                .order_by(run_history.c.id)
            )
        ).all()
        staged = (
            (
                await session.execute(
                    select(messaging.outbox.c.envelope).order_by(messaging.outbox.c.created_at)
                )
            )
            .scalars()
            .all()
        )
    assert [tuple(m) for m in moves] == [
        (None, "planning"),
        ("planning", "applying"),
        ("applying", "applying"),  # taken back by the lease watcher, twice
        ("applying", "applying"),
        ("applying", "failed"),
    ]
    states = [
        e.payload["state"]
        for e in map(Envelope.model_validate_json, staged)
        if e.type == SyncRunStateChanged.type
    ]
    assert states[-1] == "failed"
