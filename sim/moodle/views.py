"""How Moodle renders records in WS answers (key order and value types from the recordings)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sim.moodle.entities import ENROL_ENABLED, Course, Group, User
from sim.moodle.platform import Platform, SiteInfo

_FILTERS = ("displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin")
_ALWAYS = ("id", "fullname")  # core_enrol_get_enrolled_users returns these whatever userfields


def picture_url(site: SiteInfo, size: str) -> str:
    return f"{site.wwwroot}/theme/image.php/boost/core/1796011447/u/{size}"


def enrollment_methods(platform: Platform, course: Course) -> list[str]:
    methods: list[str] = []
    for instance in platform.course_instances(course.id):
        if instance.status == ENROL_ENABLED and instance.enrol not in methods:
            methods.append(instance.enrol)
    return methods


def sortorders(platform: Platform, courses: list[Course]) -> dict[int, int]:
    """Moodle keeps the newest course first in its category: one pass for a whole answer."""
    categories = {c.category for c in courses}
    members: dict[int, list[int]] = {category: [] for category in categories}
    for course in platform.courses.values():
        if course.category in members:
            members[course.category].append(course.id)
    orders = {}
    for category, ids in members.items():
        for rank, courseid in enumerate(sorted(ids, reverse=True), start=1):
            orders[courseid] = 1 if category == 0 else category * 10000 + rank
    return orders


def course_contacts(platform: Platform, course: Course) -> list[dict[str, Any]]:
    contacts = [
        {"id": u, "fullname": platform.users[u].fullname}
        for u, roles in sorted(course.roles.items())
        if any(r == 3 for r, _ in roles) and u in platform.users
    ]
    return contacts


def course_record(platform: Platform, course: Course, sortorder: int) -> dict[str, Any]:
    site_course = course.category == 0
    category = platform.categories.get(course.category)
    record: dict[str, Any] = {
        "id": course.id,
        "fullname": course.fullname,
        "displayname": course.fullname,
        "shortname": course.shortname,
        "categoryid": course.category,
        "categoryname": category.name if category else "",
        "sortorder": sortorder,
        "summary": course.summary,
        "summaryformat": 1,
        "summaryfiles": [],
        "overviewfiles": [],
        "showactivitydates": False,
        "showcompletionconditions": None if site_course else True,
        "contacts": course_contacts(platform, course),
        "enrollmentmethods": enrollment_methods(platform, course),
        "idnumber": course.idnumber,
        "format": course.format,
        "showgrades": 1,
        "newsitems": course.newsitems,
        "startdate": course.startdate,
        "enddate": course.enddate,
        "maxbytes": 0,
        "showreports": 0,
        "visible": course.visible,
        "groupmode": 0,
        "groupmodeforce": 0,
        "defaultgroupingid": 0,
        "enablecompletion": course.enablecompletion,
        "completionnotify": 0,
        "lang": course.lang,
        "theme": "",
        "marker": 0,
        "legacyfiles": 0,
        "calendartype": "",
        "timecreated": course.timecreated,
        "timemodified": course.timemodified,
        "requested": 0,
        "cacherev": course.timemodified,
        "filters": [{"filter": f, "localstate": 0, "inheritedstate": 1} for f in _FILTERS],
    }
    if platform.site.profile.newer_fields:  # the generated pattern image, as a data URL
        record["courseimage"] = f"data:image/svg+xml;base64,{course.id:x}"
    if not site_course:
        record["courseformatoptions"] = [
            {"name": "hiddensections", "value": 1},
            {"name": "coursedisplay", "value": 0},
            {"name": "indentation", "value": "1"},
        ]
    return record


def group_record(site: SiteInfo, group: Group) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": group.id,
        "courseid": group.courseid,
        "name": group.name,
        "description": group.description,
        "descriptionformat": group.descriptionformat,
        "enrolmentkey": group.enrolmentkey,  # null on 4.1.13 when none was set
        "idnumber": group.idnumber,
    }
    if site.profile.newer_fields:  # as a real 4.5 answers
        record["enrolmentkey"] = group.enrolmentkey or ""
        record["visibility"] = group.visibility
        record["participation"] = group.participation
    return record


def user_profile(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": user.fullname,
        "email": user.email,
        "department": user.department,
        "idnumber": user.idnumber,
        "firstaccess": user.firstaccess,
        "lastaccess": user.lastaccess,
    }


def user_record(site: SiteInfo, user: User) -> dict[str, Any]:
    """core_user_get_users_by_field / core_user_get_users."""
    record = user_profile(user)
    record.update(
        {
            "auth": user.auth,
            "suspended": user.suspended,
            "confirmed": True,
            "lang": user.lang,
            "theme": "",
            "timezone": "99",
            "mailformat": 1,
            "description": "",
            "descriptionformat": 1,
            "profileimageurlsmall": picture_url(site, "f2"),
            "profileimageurl": picture_url(site, "f1"),
        }
    )
    if site.profile.newer_fields:
        record["trackforums"] = 0
    return record


def participant_record(
    platform: Platform,
    course: Course,
    user: User,
    userfields: Collection[str] | None,
    enrolled_courses: list[Course],
) -> dict[str, Any]:
    """core_enrol_get_enrolled_users: empty groups/enrolledcourses are left out, as Moodle does."""
    record = user_profile(user)
    record["lastcourseaccess"] = 0
    record["profileimageurlsmall"] = picture_url(platform.site, "f2")
    record["profileimageurl"] = picture_url(platform.site, "f1")
    groups = platform.user_groups(course.id, user.id)
    if groups:
        record["groups"] = [
            {"id": g.id, "name": g.name, "description": g.description, "descriptionformat": 0}
            for g in groups
        ]
    roleids = sorted({r for r, _ in course.roles.get(user.id, set())})
    record["roles"] = [
        {"roleid": r, "name": "", "shortname": platform.roles[r].shortname, "sortorder": 0}
        for r in roleids
    ]
    if enrolled_courses:
        record["enrolledcourses"] = [
            {"id": c.id, "fullname": c.fullname, "shortname": c.shortname} for c in enrolled_courses
        ]
    if userfields is None:
        return record
    wanted = set(userfields) | set(_ALWAYS)
    return {key: value for key, value in record.items() if key in wanted}


def users_course_record(course: Course, usercount: int | None) -> dict[str, Any]:
    """core_enrol_get_users_courses."""
    record: dict[str, Any] = {
        "id": course.id,
        "shortname": course.shortname,
        "fullname": course.fullname,
        "displayname": course.fullname,
    }
    if usercount is not None:
        record["enrolledusercount"] = usercount
    record.update(
        {
            "idnumber": course.idnumber,
            "visible": course.visible,
            "summary": course.summary,
            "summaryformat": 1,
            "format": course.format,
            "showgrades": True,
            "lang": course.lang,
            "enablecompletion": bool(course.enablecompletion),
            "completionhascriteria": False,
            "completionusertracked": False,
            "category": course.category,
            "progress": None,
            "completed": None,
            "startdate": course.startdate,
            "enddate": course.enddate,
            "marker": 0,
            "lastaccess": None,
            "isfavourite": False,
            "hidden": False,
            "overviewfiles": [],
            "showactivitydates": False,
            "showcompletionconditions": True,
            "timemodified": course.timemodified,
        }
    )
    return record
