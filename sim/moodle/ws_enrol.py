"""``core_enrol_*``, ``enrol_manual_*`` and ``enrol_meta_*`` functions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sim.moodle.enrolments import (
    add_meta_instance,
    delete_meta_instance,
    enrol_user,
    is_active,
    unenrol_user,
)
from sim.moodle.entities import UE_ACTIVE, UE_SUSPENDED, Course, EnrolInstance
from sim.moodle.params import DEFAULT, OPTIONAL, Multiple, Single, Value, int_, text
from sim.moodle.platform import Platform
from sim.moodle.registry import Call, ws_function
from sim.moodle.views import participant_record, users_course_record
from sim.moodle.ws_errors import (
    WsException,
    coding_error,
    invalid_parameter,
    missing_record,
    moodle_exception,
    php_type_error,
)

# user/lib.php user_get_user_details(): the fields a caller may ask for
USER_DETAIL_FIELDS = frozenset(
    [
        "id",
        "username",
        "fullname",
        "firstname",
        "lastname",
        "email",
        "address",
        "phone1",
        "phone2",
        "department",
        "institution",
        "idnumber",
        "interests",
        "firstaccess",
        "lastaccess",
        "lastcourseaccess",
        "auth",
        "suspended",
        "confirmed",
        "lang",
        "theme",
        "timezone",
        "mailformat",
        "trackforums",
        "description",
        "descriptionformat",
        "city",
        "country",
        "profileimageurlsmall",
        "profileimageurl",
        "customfields",
        "groups",
        "roles",
        "preferences",
        "enrolledcourses",
    ]
)
_OPTIONS = Multiple(Single({"name": Value("alphanumext"), "value": text()}), DEFAULT, [])
_ENROL_VERSION = "2022112800"


def _course(platform: Platform, courseid: int) -> Course:
    course = platform.courses.get(courseid)
    if course is None:
        raise missing_record("course")
    return course


@ws_function("core_enrol_get_enrolled_users", Single({"courseid": int_(), "options": _OPTIONS}))
def get_enrolled_users(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    course = _course(platform, params["courseid"])
    call.require("moodle/course:viewparticipants", course.id)
    options = {o["name"].lower(): o["value"] for o in params["options"]}
    userids = sorted(platform.enrolled_userids(course.id))
    if options.get("onlyactive") in ("1", "true"):
        userids = [u for u in userids if is_active(platform, course.id, u)]
    if "withcapability" in options:
        userids = [
            u for u in userids if _has_capability(platform, course, u, options["withcapability"])
        ]
    if "groupid" in options:
        group = platform.groups.get(int(options["groupid"] or 0))
        userids = [u for u in userids if group is not None and u in group.members]
    userids = _sorted(platform, userids, options)
    start = int(options.get("limitfrom", "0") or 0)
    count = int(options.get("limitnumber", "0") or 0)
    userids = userids[start : start + count] if count else userids[start:]
    fields = options.get("userfields")
    wanted = [f.strip() for f in fields.split(",")] if fields is not None else None
    unknown = [f for f in wanted or () if f not in USER_DETAIL_FIELDS]
    if unknown:  # user_get_user_details: "" is no field either
        raise moodle_exception("invaliduserfield", f"Invalid user field: {unknown[0]}")
    full = wanted is None or "enrolledcourses" in wanted
    return [
        participant_record(
            platform,
            course,
            platform.users[u],
            wanted,
            _active_courses(platform, u) if full else [],
        )
        for u in userids
    ]


def _sorted(platform: Platform, userids: list[int], options: dict[str, str]) -> list[int]:
    key = options.get("sortby", "id")
    reverse = options.get("sortdirection", "ASC").upper() == "DESC"
    if key in ("firstname", "lastname"):
        return sorted(userids, key=lambda u: getattr(platform.users[u], key), reverse=reverse)
    return sorted(userids, reverse=reverse)


def _has_capability(platform: Platform, course: Course, userid: int, capability: str) -> bool:
    for roleid, _ in course.roles.get(userid, set()):
        granted = platform.roles[roleid].capabilities
        if "*" in granted or capability in granted:
            return True
    return False


def _active_courses(platform: Platform, userid: int) -> list[Course]:
    ids = sorted(platform.user_courses.get(userid, set()))
    return [platform.courses[c] for c in ids if is_active(platform, c, userid)]


@ws_function(
    "core_enrol_get_users_courses",
    Single(
        {
            "userid": int_(),
            "returnusercount": Value("bool", DEFAULT, True),
        }
    ),
)
def get_users_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    courses = _active_courses(platform, params["userid"])
    counted = params["returnusercount"]
    return [
        users_course_record(c, len(platform.enrolled_userids(c.id)) if counted else None)
        for c in courses
    ]


@ws_function("core_enrol_get_course_enrolment_methods", Single({"courseid": int_()}))
def get_course_enrolment_methods(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    # Only plugins with get_enrol_info (self, guest) and enabled instances show up, so the
    # recordings answer [] for courses with manual, meta and disabled guest/self instances.
    platform = call.platform
    course = _course(platform, params["courseid"])
    return [
        {
            "id": i.id,
            "courseid": course.id,
            "type": i.enrol,
            "name": i.name or i.enrol,
            "status": True,
            "wsfunction": f"enrol_{i.enrol}_get_instance_info",
        }
        for i in platform.course_instances(course.id)
        if i.enrol in ("self", "guest") and i.status == 0
    ]


_ENROLMENT = Single(
    {
        "roleid": int_(),
        "userid": int_(),
        "courseid": int_(),
        "timestart": int_(OPTIONAL),
        "timeend": int_(OPTIONAL),
        "suspend": int_(OPTIONAL),
    }
)


def _manual_instance(platform: Platform, courseid: int, *, enabled: bool) -> EnrolInstance:
    for instance in platform.course_instances(courseid, "manual"):
        if instance.status == 0 or not enabled:
            return instance
    raise moodle_exception(
        "wsnoinstance",
        "Manual enrolment plugin instance doesn't exist or is disabled for the course "
        "(id = {$a->courseid})",
    )


@ws_function(
    "enrol_manual_enrol_users",
    Single({"enrolments": Multiple(_ENROLMENT)}),
    rows_key="enrolments",
    version=_ENROL_VERSION,
)
def enrol_users(call: Call, params: dict[str, Any]) -> None:
    platform = call.platform
    for row in params["enrolments"]:
        if row["courseid"] not in platform.courses:
            raise invalid_parameter()
        call.require("enrol/manual:enrol", row["courseid"])
        if row["roleid"] not in platform.roles or row["roleid"] == 6:
            raise moodle_exception(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({row['roleid']}) to this "
                f"user ({row['userid']}) in this course ({row['courseid']}).",
            )
        instance = _manual_instance(platform, row["courseid"], enabled=True)
        if platform.live_user(row["userid"]) is None:
            raise _no_such_user(platform)
        status = UE_SUSPENDED if row.get("suspend") else UE_ACTIVE
        enrol_user(
            platform,
            instance,
            row["userid"],
            roleid=row["roleid"],
            status=status,
            timestart=row.get("timestart", 0),
            timeend=row.get("timeend", 0),
        )


def _no_such_user(platform: Platform) -> WsException:
    if platform.site.profile.namespaced_exceptions:  # as answered by a real 4.5 (issue 16)
        return php_type_error(
            "core\\user::get_name_placeholders(): Argument #1 ($user) must be of type "
            "stdClass, bool given, called in [dirroot]/lib/enrollib.php on line 2118"
        )
    return coding_error("User ID does not exist or is deleted!")


_UNENROLMENT = Single({"userid": int_(), "courseid": int_(), "roleid": int_(OPTIONAL)})


@ws_function(
    "enrol_manual_unenrol_users",
    Single({"enrolments": Multiple(_UNENROLMENT)}),
    rows_key="enrolments",
    version=_ENROL_VERSION,
)
def unenrol_users(call: Call, params: dict[str, Any]) -> None:
    platform = call.platform
    for row in params["enrolments"]:
        if row["courseid"] not in platform.courses:
            # context_course::instance($courseid) is MUST_EXIST here (enrol_users asks with
            # IGNORE_MISSING, hence its invalidparameter): the course row is what is missing.
            raise missing_record("course")
        call.require("enrol/manual:unenrol", row["courseid"])
        instance = _manual_instance(platform, row["courseid"], enabled=False)
        if row["userid"] not in platform.users:
            raise invalid_parameter()
        unenrol_user(platform, instance, row["userid"])


_META = Single(
    {
        "metacourseid": int_(),
        "courseid": int_(),
        "creategroup": Value("bool", DEFAULT, False),
    }
)


@ws_function(
    "enrol_meta_add_instances",
    Single({"instances": Multiple(_META)}),
    rows_key="instances",
    transactional=False,
    version=_ENROL_VERSION,
)
def meta_add_instances(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    # Not transactional in Moodle 4.1 (recordings): rows before a bad row stay created.
    platform = call.platform
    answers = []
    for row, child, parent in _meta_rows(call, params):
        exists = any(i.customint1 == parent for i in platform.course_instances(child, "meta"))
        if not exists:
            groupid = 0
            if row["creategroup"]:  # enrol_meta_create_new_group names it after the parent
                name = f"{platform.courses[parent].fullname} course"
                groupid = platform.add_group(child, name).id
            add_meta_instance(platform, child, parent, groupid=groupid)
        answers.append({"metacourseid": child, "courseid": str(parent), "status": not exists})
    return answers


@ws_function(
    "enrol_meta_delete_instances",
    Single({"instances": Multiple(Single({"metacourseid": int_(), "courseid": int_()}))}),
    rows_key="instances",
    transactional=False,
    version=_ENROL_VERSION,
)
def meta_delete_instances(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    answers = []
    for _, child, parent in _meta_rows(call, params):
        links = [i for i in platform.course_instances(child, "meta") if i.customint1 == parent]
        for instance in links:
            delete_meta_instance(platform, instance)
        answers.append({"metacourseid": child, "courseid": parent, "status": bool(links)})
    return answers


def _meta_rows(call: Call, params: dict[str, Any]) -> Iterator[tuple[dict[str, Any], int, int]]:
    """Each row with its child and parent courses, checked as Moodle checks them, one row at a
    time (a bad row stops the call after the rows before it were applied)."""
    for row in params["instances"]:
        child, parent = row["metacourseid"], row["courseid"]
        if child not in call.platform.courses or parent not in call.platform.courses:
            raise invalid_parameter()
        call.require("enrol/meta:config", child)
        yield row, child, parent
