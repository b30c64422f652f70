"""Moodle behaviours the simulator reproduces: truncation, transactions, sequences, meta."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx

from sim.moodle.app import create_sim_app
from sim.moodle.server import handle_rest
from sim.moodle.state import SimMoodle

from .conftest import ALL_TOKEN


def _post(sim: SimMoodle, fields: list[tuple[str, str]]) -> object:
    answer = handle_rest(sim["golden"], query="", body=urlencode(fields))
    return (
        answer.body
        if answer.content_type.startswith("application/xml")
        else json.loads(answer.body)
    )


def _header(function: str) -> list[tuple[str, str]]:
    return [("wstoken", ALL_TOKEN), ("wsfunction", function), ("moodlewsrestformat", "json")]


def _enrolments(userids: range, courseid: int = 5) -> list[tuple[str, str]]:
    fields = []
    for index, userid in enumerate(userids):
        fields += [
            (f"enrolments[{index}][roleid]", "5"),
            (f"enrolments[{index}][userid]", str(userid)),
            (f"enrolments[{index}][courseid]", str(courseid)),
        ]
    return fields


def test_truncation_on_a_row_boundary_looks_like_success(sim: SimMoodle) -> None:
    sim["golden"].site.max_input_vars = 3 + 3 * 10
    answer = _post(sim, _header("enrol_manual_enrol_users") + _enrolments(range(8, 28)))
    assert answer is None  # "success", but only the first 10 rows arrived
    assert sim["golden"].enrolled_userids(5) == set(range(8, 18))


def test_truncation_inside_a_row_is_invalidparameter_and_applies_nothing(
    sim: SimMoodle,
) -> None:
    sim["golden"].site.max_input_vars = 3 + 3 * 10 + 1
    answer = _post(sim, _header("enrol_manual_enrol_users") + _enrolments(range(8, 28)))
    assert isinstance(answer, dict)
    assert answer["errorcode"] == "invalidparameter"
    assert sim["golden"].enrolled_userids(5) == set()


def test_a_truncated_format_field_turns_the_answer_into_xml(sim: SimMoodle) -> None:
    sim["golden"].site.max_input_vars = 2
    fields = [
        ("wstoken", ALL_TOKEN),
        ("wsfunction", "core_webservice_get_site_info"),
        ("moodlewsrestformat", "json"),
    ]
    answer = _post(sim, fields)
    assert isinstance(answer, str)
    assert answer.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>')


def test_a_failed_create_batch_rolls_back_but_consumes_ids(sim: SimMoodle) -> None:
    rows = [
        ("courses[0][fullname]", "A"),
        ("courses[0][shortname]", "NEW-A"),
        ("courses[0][categoryid]", "2"),
        ("courses[1][fullname]", "B"),
        ("courses[1][shortname]", "GOLD101"),
        ("courses[1][categoryid]", "2"),
    ]
    failed = _post(sim, _header("core_course_create_courses") + rows)
    assert isinstance(failed, dict)
    assert failed["errorcode"] == "shortnametaken"
    assert "NEW-A" not in sim["golden"].course_by_shortname
    created = _post(sim, _header("core_course_create_courses") + rows[:3])
    assert created == [{"id": 7, "shortname": "NEW-A"}]  # id 6 went with the rollback


def test_meta_add_instances_keeps_rows_before_a_bad_row(sim: SimMoodle) -> None:
    rows = [
        ("instances[0][metacourseid]", "5"),
        ("instances[0][courseid]", "2"),
        ("instances[1][metacourseid]", "5"),
        ("instances[1][courseid]", "99999"),
    ]
    answer = _post(sim, _header("enrol_meta_add_instances") + rows)
    assert isinstance(answer, dict)
    assert answer["errorcode"] == "invalidparameter"
    assert [i.customint1 for i in sim["golden"].course_instances(5, "meta")] == [2]
    assert sim["golden"].enrolled_userids(5) == {3, 4, 6, 7}


async def test_counters_are_served_to_other_processes(sim: SimMoodle) -> None:
    app = create_sim_app(sim)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        body = urlencode(_header("enrol_manual_enrol_users") + _enrolments(range(8, 12)))
        headers = {"content-type": "application/x-www-form-urlencoded"}
        await http.post(
            "http://sim/golden/webservice/rest/server.php", content=body, headers=headers
        )
        counters = (await http.get("http://sim/golden/_sim/counters")).json()
    assert counters["enrol_manual_enrol_users"] == {"calls": 1, "rows": 4}


def test_calls_run_with_the_capabilities_of_the_token_user(sim: SimMoodle) -> None:
    golden = sim["golden"]
    golden.add_token(
        "teacher-token", userid=6, functions=("enrol_manual_enrol_users",), capabilities=frozenset()
    )
    fields = [
        ("wstoken", "teacher-token"),
        ("wsfunction", "enrol_manual_enrol_users"),
        ("moodlewsrestformat", "json"),
        *_enrolments(range(8, 9), courseid=2),
    ]
    answer = _post(sim, fields)
    assert isinstance(answer, dict)
    assert (answer["exception"], answer["errorcode"]) == (
        "required_capability_exception",
        "nopermissions",
    )
    assert 8 not in golden.enrolled_userids(2)


def test_a_meta_link_with_creategroup_puts_the_mirrored_users_in_a_group(
    sim: SimMoodle,
) -> None:
    rows = [
        ("instances[0][metacourseid]", "5"),
        ("instances[0][courseid]", "2"),
        ("instances[0][creategroup]", "1"),
    ]
    answer = _post(sim, _header("enrol_meta_add_instances") + rows)
    assert answer == [{"metacourseid": 5, "courseid": "2", "status": True}]
    golden = sim["golden"]
    (group,) = [golden.groups[g] for g in golden.courses[5].group_ids]
    assert group.name == "Golden Course 101 (manual enrol) course"
    assert group.members == {3, 4, 6, 7}
