"""Moodle 4.5 where it differs from 4.1: PHP errors without errorcode, welcome messages."""

from __future__ import annotations

import json

import httpx
import pytest

from fusion.moodle import ManualEnrolment, MoodleClient, MoodleError, NewCourse
from fusion.moodle.errors import MoodlePhpError
from fusion.moodle.releases import MoodleWelcomeMessagesOn
from sim.moodle.app import create_sim_app
from sim.moodle.platform import Platform
from sim.moodle.releases import MOODLE_45, WELCOME_OFF
from sim.moodle.state import SimMoodle, all_functions

TYPE_ERROR = {  # what a real 4.5 answered (issue 16): no errorcode
    "exception": "TypeError",
    "message": "core\\user::get_name_placeholders(): Argument #1 ($user) must be of type "
    "stdClass, bool given",
}


async def test_a_body_without_errorcode_is_a_failure_not_two_applied_rows() -> None:
    def moodle(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        failing = "userid%5D=999" in body or "userid]=999" in body
        return httpx.Response(200, content=json.dumps(TYPE_ERROR if failing else None).encode())

    async with httpx.AsyncClient(transport=httpx.MockTransport(moodle)) as http:
        client = MoodleClient(base_url="http://m", token="t", http=http, welcome_messages_off=True)
        with pytest.raises(MoodlePhpError):
            await client.call(
                "enrol_manual_enrol_users", {"enrolments": [ManualEnrolment(5, 999, 2).as_param()]}
            )
        result = await client.enrol_users([ManualEnrolment(5, 3, 2), ManualEnrolment(5, 999, 2)])
    assert ([r.userid for r in result.applied], [r.userid for r, _ in result.failed]) == (
        [3],
        [999],
    )
    assert client.calls["enrol_manual_enrol_users"] == 4  # the batch, then each half


def _platform(sim: SimMoodle) -> Platform:
    platform = sim.add_platform("t45", sitename="T", wwwroot="http://t.test", release=MOODLE_45)
    platform.add_category("Misc", id=1)
    platform.add_course("t", "T", 0, id=1, format="site")
    platform.add_user("admin", "Admin", "User", "admin@t.test", id=2)
    for n in range(3, 6):
        platform.add_user(f"s{n}", "S", str(n), f"s{n}@t.test", id=n)
    platform.add_token("tok", userid=2, functions=all_functions())
    return platform


async def test_the_simulated_45_answers_a_type_error_and_rolls_back() -> None:
    sim = SimMoodle()
    platform = _platform(sim)
    transport = httpx.ASGITransport(app=create_sim_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:
        client = MoodleClient(base_url="http://sim/t45", token="tok", http=http)
        (course,) = (await client.create_courses([NewCourse("C", "C", 1)])).returned
        platform.course_instances(course["id"], "manual")[0].customint1 = WELCOME_OFF
        raw = await http.post(
            "http://sim/t45/webservice/rest/server.php",
            data={
                "wstoken": "tok",
                "wsfunction": "enrol_manual_enrol_users",
                "moodlewsrestformat": "json",
                "enrolments[0][roleid]": "5",
                "enrolments[0][userid]": "3",
                "enrolments[0][courseid]": str(course["id"]),
                "enrolments[1][roleid]": "5",
                "enrolments[1][userid]": "999999",
                "enrolments[1][courseid]": str(course["id"]),
            },
        )
        assert set(raw.json()) == {"exception", "message"}
        assert raw.json()["exception"] == "TypeError"
        assert platform.enrolled_userids(course["id"]) == set()
        with pytest.raises(MoodleError) as invalid:
            await client.call("core_enrol_get_enrolled_users", {"courseid": "x"})
    assert invalid.value.exception == "core\\exception\\invalid_parameter_exception"


async def test_the_client_refuses_to_enrol_where_welcome_messages_are_not_declared_off() -> None:
    sim = SimMoodle()
    platform = _platform(sim)
    transport = httpx.ASGITransport(app=create_sim_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:
        undeclared = MoodleClient(base_url="http://sim/t45", token="tok", http=http)
        (course,) = (await undeclared.create_courses([NewCourse("C", "C", 1)])).returned
        rows = [ManualEnrolment(5, u, course["id"]) for u in (3, 4)]
        with pytest.raises(MoodleWelcomeMessagesOn):
            await undeclared.enrol_users(rows)
        assert platform.calls["enrol_manual_enrol_users"] == 0
        # What the guard prevents: a new course's manual instance sends (site default).
        await undeclared.call("enrol_manual_enrol_users", {"enrolments": [rows[0].as_param()]})
        assert platform.notifications == [(course["id"], 3)]
        await undeclared.call("enrol_manual_enrol_users", {"enrolments": [rows[0].as_param()]})
        assert len(platform.notifications) == 1  # re-enrolling an enrolled user sends nothing
        # Set up as the README says: the instance's welcome option off, then declared.
        platform.course_instances(course["id"], "manual")[0].customint1 = WELCOME_OFF
        declared = MoodleClient(
            base_url="http://sim/t45", token="tok", http=http, welcome_messages_off=True
        )
        result = await declared.enrol_users([ManualEnrolment(5, 5, course["id"])])
    assert len(result.applied) == 1
    assert platform.notifications == [(course["id"], 3)]  # nothing more was sent
