"""Who teaches a course: asked of Moodle once a minute at most, an unknown course taught by
nobody, and a long list of courses narrowed to the user's own before any is asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from fusion.moodle.client import MoodleClient
from fusion.moodle.teachers import TeacherDirectory
from sim.moodle.app import create_sim_app
from sim.moodle.enrolments import enrol_user
from sim.moodle.entities import EDITINGTEACHER
from sim.moodle.state import SimMoodle
from tests.enrolment_sync.merged import TOKEN, merged_platform

ASKED = "core_enrol_get_enrolled_users"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sim() -> SimMoodle:
    sim = SimMoodle()
    target = merged_platform(sim)
    prof = target.add_user("prof", "Prof", "Esseur", "prof@example.edu")
    for shortname in ("C1", "C2", "C3", "C4", "C5"):
        course = target.add_course(shortname, shortname, 1)
        manual = target.add_instance(course.id, "manual")
        if shortname in ("C1", "C4"):
            enrol_user(target, manual, prof.id, roleid=EDITINGTEACHER)
    return sim


@pytest.fixture
async def moodle(sim: SimMoodle) -> AsyncIterator[MoodleClient]:
    transport = httpx.ASGITransport(app=create_sim_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield MoodleClient(base_url="http://sim/target", token=TOKEN, http=http)


def _asked(sim: SimMoodle) -> int:
    count = sim.counters("target").get(ASKED)
    return count["calls"] if count else 0


async def test_an_answer_is_kept_for_its_time_to_live(sim: SimMoodle, moodle: MoodleClient) -> None:
    clock = Clock()
    directory = TeacherDirectory(moodle=moodle, ttl_seconds=60, clock=clock)
    [c1] = [c.id for c in sim["target"].courses.values() if c.shortname == "C1"]
    assert await directory.teaches("prof", c1)
    assert await directory.teaches("prof", c1)
    assert _asked(sim) == 1
    clock.now = 61.0
    assert await directory.teaches("prof", c1)
    assert _asked(sim) == 2


async def test_nobody_teaches_a_course_that_does_not_exist(moodle: MoodleClient) -> None:
    assert not await TeacherDirectory(moodle=moodle).teaches("prof", 987_654)


async def test_many_courses_are_narrowed_to_the_users_own_first(
    sim: SimMoodle, moodle: MoodleClient
) -> None:
    ids = {c.shortname: c.id for c in sim["target"].courses.values()}
    wanted = [ids[name] for name in ("C1", "C2", "C3", "C4", "C5")]
    taught = await TeacherDirectory(moodle=moodle).taught_among("prof", wanted)
    assert taught == {ids["C1"], ids["C4"]}
    assert _asked(sim) == 2  # only the two courses prof is enrolled in were asked about
