"""The platform check reports each Moodle set-up gap it can see; the function list is exact."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from fusion.moodle.setup_check import REQUIRED_FUNCTIONS
from fusion.settings import MoodlePlatform
from services.migration_orchestrator.platforms import check_platform
from sim.moodle.app import create_sim_app
from sim.moodle.demo import seed_demo
from sim.moodle.golden import seed_golden
from sim.moodle.state import SimMoodle

ROOT = Path(__file__).resolve().parents[2]


def test_the_required_functions_are_those_the_client_calls_and_the_readme_lists() -> None:
    client = (ROOT / "fusion" / "moodle" / "client.py").read_text()
    called = set(re.findall(r'"((?:core|enrol)_[a-z_]+)"', client))
    assert called == set(REQUIRED_FUNCTIONS)
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Moodle set-up", 1)[1].split("\n### ", 1)[0]
    listed = re.findall(r"^- `((?:core|enrol)_[a-z_]+)`$", section, re.MULTILINE)
    assert listed == list(REQUIRED_FUNCTIONS)


async def _gaps(sim: SimMoodle, platform: MoodlePlatform) -> list[str]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_sim_app(sim))) as http:
        status = await check_platform(platform, http=http)
    assert status.reachable
    assert all(g.message and g.message_fr for g in status.setup_gaps)
    return [g.code for g in status.setup_gaps]


async def test_a_45_platform_not_declared_free_of_welcome_messages_is_reported() -> None:
    sim = SimMoodle()
    seed_demo(sim, base_url="http://sim")
    target = MoodlePlatform(name="target", url="http://sim/target", token="target-token")
    assert await _gaps(sim, target) == ["welcome_messages"]
    declared = target.model_copy(update={"welcome_messages_off": True})
    assert await _gaps(sim, declared) == []
    ub1 = MoodlePlatform(name="ub1", url="http://sim/ub1", token="ub1-token")
    assert await _gaps(sim, ub1) == []  # 4.1 has no welcome message


async def test_a_service_missing_functions_is_reported_by_name() -> None:
    sim = SimMoodle()
    seed_golden(sim)  # the recorded "golden" service lacks core_course_update_courses
    golden = MoodlePlatform(name="golden", url="http://sim/golden", token="valid-token")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_sim_app(sim))) as http:
        status = await check_platform(golden, http=http)
    (gap,) = status.setup_gaps
    assert gap.code == "functions_missing"
    assert "core_course_update_courses" in gap.message
