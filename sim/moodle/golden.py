"""The ``moodle-golden`` scenario: the state the recordings of fixtures/moodle-golden start from.

One platform, ``golden``, with the token ``valid-token`` (the recordings' ``<valid-token>``)
belonging to the site administrator and limited to the recorded "golden" external service.
"""

from __future__ import annotations

from sim.moodle.enrolments import add_meta_instance, enrol_user
from sim.moodle.entities import EDITINGTEACHER, STUDENT, UE_SUSPENDED
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle

GOLDEN_PLATFORM = "golden"
GOLDEN_TOKEN = "valid-token"
GOLDEN_SERVICE = (  # in the service's order, which site info keeps
    "core_webservice_get_site_info",
    "core_course_get_courses_by_field",
    "core_course_create_courses",
    "core_course_get_categories",
    "core_course_get_courses",
    "core_user_get_users_by_field",
    "core_user_get_users",
    "core_user_create_users",
    "core_user_update_users",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_enrol_get_enrolled_users",
    "core_enrol_get_course_enrolment_methods",
    "core_enrol_get_users_courses",
    "enrol_meta_add_instances",
    "enrol_meta_delete_instances",
    "core_group_create_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
    "core_group_get_course_groups",
    "core_group_get_group_members",
)
_PEOPLE = (
    (3, "gstudent1", "Alice", "Anders"),
    (4, "gstudent2", "Bob", "Brown"),
    (5, "gstudent3", "Carol", "Chen"),
    (6, "gteacher1", "Dave", "Diaz"),
    (7, "gstudent4", "Eve", "Evans"),
)


def seed_golden(sim: SimMoodle, *, wwwroot: str = "http://127.0.0.1:8081") -> Platform:
    platform = sim.add_platform(GOLDEN_PLATFORM, sitename="Golden Test Site", wwwroot=wwwroot)
    platform.site.clock = 1796011509
    _seed_people(platform)
    _seed_courses(platform)
    _seed_enrolments(platform)
    platform.add_token(GOLDEN_TOKEN, userid=2, functions=GOLDEN_SERVICE)
    return platform


def _user(platform: Platform, userid: int, username: str, first: str, last: str) -> None:
    platform.add_user(
        username, first, last, f"{username}@example.com", id=userid, idnumber=username.upper()
    )


def _seed_people(platform: Platform) -> None:
    platform.add_user("admin", "Admin", "User", "admin@example.com", id=2)
    for userid, username, first, last in _PEOPLE:
        _user(platform, userid, username, first, last)
    for n in range(1, 2001):
        _user(platform, 7 + n, f"bulk{n:04d}", "Bulk", f"User {n:04d}")


def _seed_courses(platform: Platform) -> None:
    platform.add_category("Category 1", id=1)
    platform.add_category("Golden Cat A", idnumber="GCAT1", id=2)
    platform.add_category("Golden Cat B", idnumber="GCAT2", id=3)
    platform.add_course(
        "golden", "Golden Test Site", 0, id=1, format="site", newsitems=3, enablecompletion=0
    )
    courses = (
        (
            2,
            "GOLD101",
            "Golden Course 101 (manual enrol)",
            2,
            "GOLD101-ID",
            ("manual", "guest", "self"),
        ),
        (3, "GOLD102", "Golden Course 102 (no manual enrol)", 2, "GOLD102-ID", ("guest", "self")),
        (4, "GOLD201", "Golden Course 201 (meta parent)", 3, "GOLD201-ID", ("manual",)),
        (5, "GOLDBULK", "Golden Bulk Course", 3, "", ("manual", "guest", "self")),
    )
    for courseid, shortname, fullname, category, idnumber, methods in courses:
        platform.add_course(
            shortname,
            fullname,
            category,
            id=courseid,
            idnumber=idnumber,
            summary=f"Golden test course {shortname}",
            newsitems=1,
            enablecompletion=0,
        )
        for method in methods:
            platform.add_instance(courseid, method, status=0 if method == "manual" else 1)


def _seed_enrolments(platform: Platform) -> None:
    manual2 = platform.course_instances(2, "manual")[0]
    for userid, roleid in ((3, STUDENT), (4, STUDENT), (6, EDITINGTEACHER)):
        enrol_user(platform, manual2, userid, roleid=roleid)
    enrol_user(platform, manual2, 7, roleid=STUDENT, status=UE_SUSPENDED)
    enrol_user(platform, platform.course_instances(4, "manual")[0], 5, roleid=STUDENT)
    add_meta_instance(platform, 4, 2)
    group = platform.add_group(2, "Golden Group 1", idnumber="GG1", id=1)
    group.members.add(3)


def apply_between_03_and_05(platform: Platform) -> None:
    """The lasting changes of the recording that ran between 03 and 05 (README)."""
    platform.add_user("gwsuser1", "Wes", "Service", "gwsuser1@example.com", id=2008)
    platform.add_user(
        "gwsuser2", "Wes2", "Service", "gwsuser2@example.com", id=2009, idnumber="GWS2"
    )
    platform.users[4].firstname = "Bobby"
