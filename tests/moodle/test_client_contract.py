"""Every client function against the simulator, through ASGI and over loopback HTTP."""

from __future__ import annotations

import httpx
import pytest

from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import (
    MoodleAccessDenied,
    MoodleCodingError,
    MoodleDuplicate,
    MoodleFunctionUnknown,
    MoodleInvalidParameter,
    MoodleInvalidToken,
    MoodleNoManualInstance,
    MoodleRecordMissing,
    MoodleRequestTooLarge,
)
from fusion.moodle.rows import (
    CourseUpdate,
    CustomField,
    GroupMember,
    ManualEnrolment,
    ManualUnenrolment,
    MetaLink,
    NewCourse,
    NewGroup,
    NewUser,
    UserCriterion,
    UserUpdate,
)
from sim.moodle.state import SimMoodle

from .conftest import ALL_TOKEN

STUDENT, TEACHER = 5, 3


async def _roster(moodle: MoodleClient, courseid: int) -> set[int]:
    return {u["id"] for u in await moodle.get_enrolled_users(courseid)}


async def test_site_info_names_the_token_user_and_its_functions(moodle: MoodleClient) -> None:
    info = await moodle.get_site_info()
    assert info["username"] == "admin"
    assert {"name": "enrol_manual_enrol_users", "version": "2022112800"} in info["functions"]


async def test_courses_are_created_found_and_updated(moodle: MoodleClient) -> None:
    rows = [
        NewCourse(
            "Contract 1", "CT1", 2, idnumber="CT1-ID", customfields=(CustomField("apogee", "ELP1"),)
        ),
        NewCourse("Duplicate", "GOLD101", 2),
        NewCourse("Contract 2", "CT2", 3),
    ]
    created = await moodle.create_courses(rows)
    assert [r.shortname for r in created.applied] == ["CT1", "CT2"]
    assert [(r.shortname, type(e)) for r, e in created.failed] == [("GOLD101", MoodleDuplicate)]
    assert [c["shortname"] for c in created.returned] == ["CT1", "CT2"]
    found = await moodle.get_courses_by_field("idnumber", "CT1-ID")
    assert [c["id"] for c in found] == [created.returned[0]["id"]]
    courseid = created.returned[1]["id"]
    updated = await moodle.update_courses(
        [CourseUpdate(courseid, fullname="Renamed"), CourseUpdate(99999, fullname="Nobody")]
    )
    assert [r.id for r in updated.applied] == [courseid]
    assert [r.id for r, _ in updated.failed] == [99999]
    assert (await moodle.get_courses_by_field("id", courseid))[0]["fullname"] == "Renamed"


async def test_a_bad_row_is_isolated_and_the_good_rows_are_applied(
    moodle: MoodleClient, sim: SimMoodle
) -> None:
    rows = [ManualEnrolment(STUDENT, userid, 2) for userid in range(8, 24)]
    rows[5] = ManualEnrolment(STUDENT, 999999, 2)
    result = await moodle.enrol_users(rows)
    assert len(result.applied) == 15
    assert [(r.userid, type(e)) for r, e in result.failed] == [(999999, MoodleCodingError)]
    assert {r.userid for r in result.applied} <= await _roster(moodle, 2)
    assert result.calls == sim["golden"].calls["enrol_manual_enrol_users"]


async def test_a_batch_larger_than_max_input_vars_is_split_never_truncated(
    http_to_sim: tuple[httpx.AsyncClient, str], sim: SimMoodle
) -> None:
    sim["golden"].site.max_input_vars = 50  # PHP would drop every field past the 50th
    http, wwwroot = http_to_sim
    small = MoodleClient(base_url=wwwroot, token=ALL_TOKEN, http=http, max_input_vars=50)
    rows = [ManualEnrolment(STUDENT, userid, 2) for userid in range(8, 48)]
    result = await small.enrol_users(rows)
    assert (len(result.applied), result.failed, result.calls) == (40, [], 3)  # 15 + 15 + 10
    assert sim.counters("golden")["enrol_manual_enrol_users"] == {"calls": 3, "rows": 40}
    assert set(range(8, 48)) <= await _roster(small, 2)


async def test_a_call_over_max_input_vars_is_refused_before_sending(
    moodle: MoodleClient, sim: SimMoodle
) -> None:
    too_many = {"enrolments": [ManualEnrolment(STUDENT, u, 2).as_param() for u in range(2000)]}
    with pytest.raises(MoodleRequestTooLarge):
        await moodle.call("enrol_manual_enrol_users", too_many)
    assert sim["golden"].calls["enrol_manual_enrol_users"] == 0


async def test_each_moodle_error_shape_becomes_its_typed_error(
    http_to_sim: tuple[httpx.AsyncClient, str], moodle: MoodleClient
) -> None:
    http, wwwroot = http_to_sim
    golden_only = MoodleClient(base_url=wwwroot, token="valid-token", http=http)
    with pytest.raises(MoodleAccessDenied) as denied:
        await golden_only.update_courses([CourseUpdate(2, fullname="x")])
    assert (denied.value.exception, denied.value.errorcode) == (
        "webservice_access_exception",
        "accessexception",
    )
    with pytest.raises(MoodleFunctionUnknown):
        await moodle.call("core_fake_nonexistent_function", {})
    with pytest.raises(MoodleInvalidParameter):
        await moodle.call("core_enrol_get_enrolled_users", {"courseid": "2.5"})
    with pytest.raises(MoodleRecordMissing) as missing:
        await moodle.get_enrolled_users(99999)
    assert missing.value.message == "Can't find data record in database table course."
    with pytest.raises(MoodleNoManualInstance):
        await moodle.call(
            "enrol_manual_enrol_users", {"enrolments": [{"roleid": 5, "userid": 5, "courseid": 3}]}
        )


async def test_unenrol_removes_only_the_manual_enrolment(moodle: MoodleClient) -> None:
    result = await moodle.unenrol_users([ManualUnenrolment(4, 2), ManualUnenrolment(4, 3)])
    assert [r.courseid for r in result.applied] == [2]
    assert [type(e) for _, e in result.failed] == [MoodleNoManualInstance]
    assert 4 not in await _roster(moodle, 2)
    # course 4 mirrors course 2 through its meta link: suspended there, without roles
    meta = {u["id"]: u for u in await moodle.get_enrolled_users(4, userfields=("id", "roles"))}
    assert meta[4]["roles"] == []
    active = await moodle.get_enrolled_users(4, onlyactive=True)
    assert 4 not in {u["id"] for u in active}


async def test_meta_links_propagate_one_level_and_do_not_chain(moodle: MoodleClient) -> None:
    # 5 already mirrors 2? no: link 5 <- 4 (4 is itself a meta child of 2)
    links = await moodle.meta_add_instances([MetaLink(5, 4), MetaLink(4, 2)])
    assert [r["status"] for r in links.returned] == [True, False]
    assert links.returned[0]["courseid"] == "4"  # Moodle answers courseid as a string
    in_5 = await _roster(moodle, 5)
    assert in_5 == {5}  # only course 4's own manual enrolment, not what 4 got from 2
    await moodle.enrol_users([ManualEnrolment(STUDENT, 100, 4)])
    assert 100 in await _roster(moodle, 5)


async def test_groups_are_created_filled_and_emptied(moodle: MoodleClient) -> None:
    created = await moodle.create_groups(
        [
            NewGroup(2, "TD1", idnumber="GRP-TD1"),
            NewGroup(2, "Golden Group 1"),
        ]
    )
    assert [type(e) for _, e in created.failed] == [MoodleInvalidParameter]
    groupid = created.returned[0]["id"]
    added = await moodle.add_group_members([GroupMember(groupid, 3), GroupMember(groupid, 100)])
    assert [r.userid for r in added.applied] == [3]
    assert [r.userid for r, _ in added.failed] == [100]  # not enrolled in the course
    groups = {g["idnumber"]: g for g in await moodle.get_course_groups(2)}
    assert set(groups) == {"GG1", "GRP-TD1"}
    assert (await moodle.get_enrolled_users(2, userfields=("id", "groups")))[0]["groups"]
    removed = await moodle.delete_group_members([GroupMember(groupid, 3)])
    assert len(removed.applied) == 1


async def test_users_are_created_found_and_updated(moodle: MoodleClient) -> None:
    created = await moodle.create_users(
        [
            NewUser(
                "newone",
                "New",
                "One",
                "newone@example.com",
                createpassword=True,
                idnumber="21900001",
            ),
            NewUser("gstudent1", "Dup", "Licate", "dup@example.com", createpassword=True),
        ]
    )
    assert [r.username for r in created.applied] == ["newone"]
    newid = created.returned[0]["id"]
    found = await moodle.get_users_by_field("idnumber", ["21900001", "GSTUDENT1"])
    assert [u["username"] for u in found] == ["gstudent1", "newone"]
    with pytest.raises(MoodleInvalidParameter):
        await moodle.get_users_by_field("username", ["GSTUDENT1"])  # Moodle rejects upper case
    by_email = await moodle.get_users([UserCriterion("email", "newone@example.com")])
    assert [u["id"] for u in by_email["users"]] == [newid]
    updated = await moodle.update_users(
        [
            UserUpdate(newid, email="renamed@example.com"),
            UserUpdate(newid + 1000, firstname="Ghost"),
            UserUpdate(3, email="gstudent2@example.com"),
        ]
    )
    assert [r.id for r in updated.applied] == [newid]
    assert sorted(e.errorcode for _, e in updated.failed) == ["invaliduserid", "useremailduplicate"]


async def test_course_lists_of_a_user_and_enrolment_methods(moodle: MoodleClient) -> None:
    courses = await moodle.get_users_courses(3)
    assert [c["id"] for c in courses] == [2, 4]
    assert await moodle.get_course_enrolment_methods(2) == []  # as recorded on 4.1.13


async def test_write_errors_of_the_whole_call_are_raised_not_bisected(
    http_to_sim: tuple[httpx.AsyncClient, str], sim: SimMoodle
) -> None:
    http, wwwroot = http_to_sim
    stranger = MoodleClient(base_url=wwwroot, token="not-a-token", http=http)
    with pytest.raises(MoodleInvalidToken):
        await stranger.enrol_users([ManualEnrolment(STUDENT, 8, 2), ManualEnrolment(5, 9, 2)])
    assert sum(sim["golden"].calls.values()) == 1  # one call, no bisection
