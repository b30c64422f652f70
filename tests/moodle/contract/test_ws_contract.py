"""The Moodle client against a simulated 4.1, a simulated 4.5 and, when configured, a live site.

Same assertions everywhere; each test works only on what its run created.
"""

from __future__ import annotations

import pytest

from fusion.moodle import (
    GroupMember,
    ManualEnrolment,
    MoodleError,
    MoodleInvalidParameter,
    MoodleRecordMissing,
    NewGroup,
    NewUser,
    UserUpdate,
)

from .target import ContractTarget

STUDENT = 5
NOBODY = 2_000_000_000  # no site has that many users


async def _roster(target: ContractTarget, courseid: int) -> set[int]:
    return {u["id"] for u in await target.client.get_enrolled_users(courseid)}


async def test_a_call_naming_a_nonexistent_user_fails_whole(target: ContractTarget) -> None:
    """Issue 16, item 1: 4.5 answers a TypeError body without errorcode; it is a failure."""
    courseid = await target.course("enrol")
    (valid,) = await target.users(1)
    rows = [ManualEnrolment(STUDENT, valid, courseid), ManualEnrolment(STUDENT, NOBODY, courseid)]
    with pytest.raises(MoodleError):
        await target.client.call(
            "enrol_manual_enrol_users", {"enrolments": [r.as_param() for r in rows]}
        )
    assert await _roster(target, courseid) == set()  # Moodle rolled the whole call back
    result = await target.client.enrol_users(rows)
    assert ([r.userid for r in result.applied], [r.userid for r, _ in result.failed]) == (
        [valid],
        [NOBODY],
    )
    assert await _roster(target, courseid) == {valid}


async def test_errors_are_typed_whatever_the_exception_namespace(target: ContractTarget) -> None:
    with pytest.raises(MoodleInvalidParameter):
        await target.client.call("core_enrol_get_enrolled_users", {"courseid": "2.5"})
    with pytest.raises(MoodleRecordMissing):
        await target.client.get_enrolled_users(NOBODY)


async def test_an_empty_userfields_option_is_an_invalid_user_field(target: ContractTarget) -> None:
    courseid = await target.course("fields")
    with pytest.raises(MoodleError) as refused:
        await target.client.get_enrolled_users(courseid, userfields=("",))
    assert refused.value.errorcode == "invaliduserfield"


async def test_students_have_the_view_participants_capability(target: ContractTarget) -> None:
    courseid = await target.course("capability")
    students = await target.users(2)
    await target.client.enrol_users([ManualEnrolment(STUDENT, u, courseid) for u in students])
    seen = await target.client.get_enrolled_users(
        courseid, withcapability="moodle/course:viewparticipants"
    )
    assert {u["id"] for u in seen} == set(students)


async def test_user_creation_refuses_what_moodle_refuses(target: ContractTarget) -> None:
    """Default site settings: allowaccountssameemail off, the default password policy."""
    (existing,) = await target.users(1)
    email = f"{target.prefix}-u0@example.invalid"
    name = f"{target.prefix}-x"
    result = await target.client.create_users(
        [
            NewUser(f"{name}1", "A", "B", email.upper(), auth="nologin"),  # same e-mail
            NewUser(f"{name}2", "A", "B", f"{name}2@example.invalid", password="short"),
            NewUser(f"{name}3", "A", "B", f"{name}3@example.invalid", auth="no-such-auth"),
            NewUser(f"{name}4", "A", "B", "not-an-email", auth="nologin"),
        ]
    )
    target.userids.extend(int(r["id"]) for r in result.returned)
    assert result.applied == []
    failed = {r.username[-1]: e for r, e in result.failed}
    assert {k: type(e) for k, e in failed.items() if k != "2"} == dict.fromkeys(
        "134", MoodleInvalidParameter
    )
    assert "Passwords must be at least 8 characters long." in failed["2"].errorcode
    assert existing not in {int(r["id"]) for r in result.returned}


async def test_groups_are_created_and_filled_with_enrolled_users_only(
    target: ContractTarget,
) -> None:
    courseid = await target.course("groups")
    enrolled, outsider = await target.users(2)
    await target.client.enrol_users([ManualEnrolment(STUDENT, enrolled, courseid)])
    created = await target.client.create_groups([NewGroup(courseid, "TD1", idnumber=target.tag)])
    (group,) = created.returned
    added = await target.client.add_group_members(
        [GroupMember(group["id"], enrolled), GroupMember(group["id"], outsider)]
    )
    assert ([r.userid for r in added.applied], [r.userid for r, _ in added.failed]) == (
        [enrolled],
        [outsider],
    )
    (listed,) = await target.client.get_course_groups(courseid)
    if target.branch >= (4, 2):  # participation and visibility came with 4.2
        assert (listed["enrolmentkey"], listed["visibility"], listed["participation"]) == (
            "",
            0,
            True,
        )
    with pytest.raises(MoodleError) as refused:
        await target.client.call(
            "core_group_create_groups",
            {"groups": [{"courseid": courseid, "name": "TD1", "description": ""}]},
        )
    assert refused.value.errorcode == "invalidparameter"  # the name exists in the course


async def test_user_updates_are_refused_row_by_row(target: ContractTarget) -> None:
    kept, deleted, duplicate, invalid = await target.users(4)
    await target.client.call("core_user_delete_users", {"userids": [deleted]})
    result = await target.client.update_users(
        [
            UserUpdate(kept, firstname="Renamed"),
            UserUpdate(deleted, firstname="Ghost"),
            UserUpdate(NOBODY, firstname="Nobody"),
            UserUpdate(duplicate, email=f"{target.prefix}-u0@example.invalid"),  # kept's
            UserUpdate(invalid, email="not-an-email"),
        ]
    )
    assert [r.id for r in result.applied] == [kept]
    assert sorted(e.errorcode for _, e in result.failed) == [
        "invaliduserid",
        "useremailduplicate",
        "useremailinvalid",
        "usernotupdateddeleted",
    ]
