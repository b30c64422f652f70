"""The demo platforms: tokens work, fixture courses back up to the real files, and a
generated course moves from a historical platform to the target through both CLI scripts."""

from __future__ import annotations

import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fusion.moodle import CliTemplates, MoodleClient, MoodleCliRunner
from fusion.testing.paths import MBZ_FIXTURES
from fusion.testing.serving import serving
from sim.moodle.app import create_sim_app
from sim.moodle.demo import DEMO_TOKENS, seed_demo
from sim.moodle.state import SimMoodle


@pytest.fixture
async def demo() -> AsyncIterator[tuple[SimMoodle, str]]:
    sim = SimMoodle()
    app = create_sim_app(sim)
    async with serving(app) as url:
        seed_demo(sim, base_url=url, fixtures=MBZ_FIXTURES)
        yield sim, url


def _runner(url: str, platform: str) -> MoodleCliRunner:
    prefix = (
        f"{shlex.quote(sys.executable)} -m sim.moodle.cli_%s --sim-url={url} --platform={platform}"
    )
    return MoodleCliRunner(
        templates=CliTemplates(
            backup=prefix % "backup" + " --courseid={courseid} --destination={destination}",
            restore=prefix % "restore" + " --file={file} --categoryid={categoryid}",
        )
    )


async def test_every_demo_token_reaches_its_platform(demo: tuple[SimMoodle, str]) -> None:
    _, url = demo
    async with httpx.AsyncClient() as http:
        for platform, token in DEMO_TOKENS.items():
            client = MoodleClient(base_url=f"{url}/{platform}", token=token, http=http)
            info = await client.get_site_info()
            assert info["siteurl"] == f"{url}/{platform}"


async def test_a_fixture_course_backs_up_to_the_real_file(
    demo: tuple[SimMoodle, str], tmp_path: Path
) -> None:
    sim, url = demo
    courseid = sim["ub1"].course_by_shortname["CS01"]
    done = await _runner(url, "ub1").backup(courseid=courseid, destination=tmp_path)
    fixture = MBZ_FIXTURES / "question_attempts_missing_users.mbz"
    assert done.path.read_bytes() == fixture.read_bytes()


async def test_a_generated_course_moves_from_ub1_to_the_target(
    demo: tuple[SimMoodle, str], tmp_path: Path
) -> None:
    sim, url = demo
    source = sim["ub1"]
    courseid = source.course_by_shortname["UB1-001"]
    usernames = {source.users[u].username for u in source.enrolled_userids(courseid)}
    backup = await _runner(url, "ub1").backup(courseid=courseid, destination=tmp_path)
    restored = await _runner(url, "target").restore(file=backup.path, categoryid=1)
    target = sim["target"]
    moved = {target.users[u].username for u in target.enrolled_userids(restored.courseid)}
    assert moved == usernames
    course = target.courses[restored.courseid]  # the target is 4.5: renamed and shown
    assert (course.shortname, course.visible) == ("UB1-001_1", 1)
    assert course.fullname.endswith(" copy 1")
