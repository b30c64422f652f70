"""``core_group_*`` functions."""

from __future__ import annotations

from typing import Any

from sim.moodle.params import DEFAULT, OPTIONAL, Multiple, Single, int_, text
from sim.moodle.platform import Platform
from sim.moodle.registry import Call, ws_function
from sim.moodle.views import group_record
from sim.moodle.ws_errors import invalid_parameter, missing_record, moodle_exception

_NEW_GROUP = Single(
    {
        "courseid": int_(),
        "name": text(),
        "description": text(),
        "descriptionformat": int_(DEFAULT, 1),
        "enrolmentkey": text(OPTIONAL),
        "idnumber": text(OPTIONAL),
    }
)
_MEMBER = Single({"groupid": int_(), "userid": int_()})


@ws_function(
    "core_group_create_groups", Single({"groups": Multiple(_NEW_GROUP)}), rows_key="groups"
)
def create_groups(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    created = []
    for row in params["groups"]:
        course = platform.courses.get(row["courseid"])
        if course is None:  # validate_context() failed, rethrown as the course context's error
            raise moodle_exception(
                "errorcoursecontextnotvalid",
                f"You cannot execute functions in the course context (course id:"
                f"{row['courseid']}). The context error message was: Invalid parameter value "
                "detected",
            )
        call.require("moodle/course:managegroups", course.id)
        existing = [platform.groups[g] for g in course.group_ids]
        if any(g.name == row["name"] for g in existing):
            raise invalid_parameter()  # "Group with the same name already exists in the course"
        idnumber = row.get("idnumber", "")
        if idnumber and any(g.idnumber == idnumber for g in existing):
            raise moodle_exception("idnumbertaken", "ID number is already used")
        group = platform.add_group(
            course.id,
            row["name"],
            idnumber=idnumber,
            description=row["description"],
            enrolmentkey=row.get("enrolmentkey"),
        )
        group.descriptionformat = row["descriptionformat"]
        created.append(group_record(platform.site, group))
    return created


@ws_function("core_group_get_course_groups", Single({"courseid": int_()}))
def get_course_groups(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    course = platform.courses.get(params["courseid"])
    if course is None:
        raise missing_record("course")
    call.require("moodle/course:managegroups", course.id)
    return [group_record(platform.site, platform.groups[g]) for g in course.group_ids]


@ws_function(
    "core_group_add_group_members", Single({"members": Multiple(_MEMBER)}), rows_key="members"
)
def add_group_members(call: Call, params: dict[str, Any]) -> None:
    platform = call.platform
    for row in params["members"]:
        group = _group_and_user(platform, row)
        call.require("moodle/course:managegroups", group.courseid)
        if row["userid"] not in platform.enrolled_userids(group.courseid):
            raise invalid_parameter()  # "Only enrolled users may be members of groups"
        _change_membership(platform, group.id, row["userid"], add=True)


@ws_function(
    "core_group_delete_group_members", Single({"members": Multiple(_MEMBER)}), rows_key="members"
)
def delete_group_members(call: Call, params: dict[str, Any]) -> None:
    platform = call.platform
    for row in params["members"]:
        group = _group_and_user(platform, row)
        call.require("moodle/course:managegroups", group.courseid)
        _change_membership(platform, group.id, row["userid"], add=False)


@ws_function("core_group_get_group_members", Single({"groupids": Multiple(int_())}))
def get_group_members(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    answers = []
    for groupid in params["groupids"]:
        group = platform.groups.get(groupid)
        if group is None:
            raise missing_record("groups")
        call.require("moodle/course:managegroups", group.courseid)
        answers.append({"groupid": group.id, "userids": sorted(group.members)})
    return answers


def _group_and_user(platform: Platform, row: dict[str, Any]) -> Any:
    group = platform.groups.get(row["groupid"])
    if group is None:
        raise missing_record("groups")
    if platform.live_user(row["userid"]) is None:
        raise missing_record("user")
    return group


def _change_membership(platform: Platform, groupid: int, userid: int, *, add: bool) -> None:
    members = platform.groups[groupid].members
    if (userid in members) == add:
        return
    if add:
        members.add(userid)
        platform.record(lambda: members.discard(userid))
    else:
        members.discard(userid)
        platform.record(lambda: members.add(userid))
