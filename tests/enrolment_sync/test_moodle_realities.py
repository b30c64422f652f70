"""Issue 16 through the sync: every Moodle call is counted; 4.5 welcome messages are never sent."""

from __future__ import annotations

import httpx

from fusion.moodle.client import MoodleClient
from sim.moodle.app import create_sim_app
from sim.moodle.releases import MOODLE_45, WELCOME_FROM_COURSE_CONTACT, WELCOME_OFF

from .conftest import World
from .merged import TOKEN
from .test_runs import seeded, start


async def test_the_run_summary_counts_every_moodle_call_reads_included(world: World) -> None:
    await seeded(world)
    world.sim.reset_counters()
    run = await start(world, "full")
    assert run.status == "completed", run.error
    made = sum(c["calls"] for c in world.sim.counters("target").values())
    assert run.counts["moodle_calls"] == made
    assert run.counts["moodle_calls"] > run.counts["moodle_write_calls"]  # rosters were read


async def test_on_45_the_sync_refuses_until_welcome_messages_are_declared_off(
    world: World,
) -> None:
    world.target.site.profile = MOODLE_45
    course, _ = await seeded(world)
    (manual,) = world.target.course_instances(course, "manual")
    manual.customint1 = WELCOME_FROM_COURSE_CONTACT  # what a new 4.4+ course gets
    refused = await start(world, "full")
    assert refused.status == "failed"
    assert "welcome message" in (refused.error or "")
    assert world.sim.counters("target").get("enrol_manual_enrol_users") is None
    assert world.target.notifications == []

    manual.customint1 = WELCOME_OFF  # the README's set-up, then declared
    transport = httpx.ASGITransport(app=create_sim_app(world.sim))
    async with httpx.AsyncClient(transport=transport) as http:
        world.moodle = MoodleClient(
            base_url="http://sim/target", token=TOKEN, http=http, welcome_messages_off=True
        )
        done = await start(world, "full")
    assert done.status == "completed", done.error
    assert done.counts["adds"] == 12
    assert world.target.notifications == []  # 12 new enrolments, no message
