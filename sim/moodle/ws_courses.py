"""Site info, categories and courses: the ``core_webservice`` and ``core_course`` functions."""

from __future__ import annotations

from typing import Any

from sim.moodle.entities import Course
from sim.moodle.params import DEFAULT, OPTIONAL, Multiple, Single, Value, int_, text
from sim.moodle.platform import Platform
from sim.moodle.registry import FUNCTIONS, Call, ws_function
from sim.moodle.views import course_record, picture_url, sortorders
from sim.moodle.ws_errors import WsException, invalid_parameter, missing_record, moodle_exception

_BY_FIELD = ("id", "ids", "shortname", "idnumber", "category")


@ws_function("core_webservice_get_site_info", Single({}))
def get_site_info(call: Call, _: dict[str, Any]) -> dict[str, Any]:
    site, user = call.platform.site, call.user
    functions = [
        {"name": name, "version": FUNCTIONS[name].version}
        for name in call.token.functions
        if name in FUNCTIONS
    ]
    return {
        "sitename": site.sitename,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": user.fullname,
        "lang": user.lang,
        "userid": user.id,
        "siteurl": site.wwwroot,
        "userpictureurl": picture_url(site, "f1"),
        "functions": functions,
        "downloadfiles": 0,
        "uploadfiles": 0,
        "release": site.release,
        "version": site.version,
        "mobilecssurl": "",
        "advancedfeatures": [
            {"name": name, "value": value}
            for name, value in (
                ("usecomments", 1),
                ("usetags", 1),
                ("enablenotes", 1),
                ("messaging", 1),
                ("enableblogs", 1),
                ("enablecompletion", 1),
                ("enablebadges", 1),
                ("messagingallusers", 0),
                ("enablecustomreports", 1),
                ("mnet_dispatcher_mode", 0),
            )
        ],
        "usercanmanageownfiles": True,
        "userquota": 0,
        "usermaxuploadfilesize": -1,
        "userhomepage": 1,
        "userprivateaccesskey": f"{user.id:032x}",
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": call.token.capabilities is None,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        **({"policyagreed": 1} if site.profile.newer_fields else {}),
    }


@ws_function(
    "core_course_get_courses_by_field",
    Single({"field": Value("alphanumext", DEFAULT, ""), "value": text(DEFAULT, "")}),
)
def get_courses_by_field(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    field, value = params["field"], params["value"]
    if field and field not in _BY_FIELD:
        raise invalid_parameter()
    courses = _find_courses(call.platform, field, str(value))
    return {"courses": _records(call.platform, courses), "warnings": []}


def _records(platform: Platform, courses: list[Course]) -> list[dict[str, Any]]:
    orders = sortorders(platform, courses)
    return [course_record(platform, c, orders[c.id]) for c in courses]


def _find_courses(platform: Platform, field: str, value: str) -> list[Course]:
    if not field:
        return sorted(platform.courses.values(), key=lambda c: c.id)
    if field in ("id", "ids"):
        ids = [_php_int(v) for v in value.split(",")] if field == "ids" else [_php_int(value)]
        return [platform.courses[i] for i in sorted(set(ids)) if i in platform.courses]
    if field == "category":
        category = _php_int(value)
        return [c for c in platform.courses.values() if c.category == category]
    index = platform.course_by_shortname if field == "shortname" else platform.course_by_idnumber
    found = index.get(value)
    return [] if found is None else [platform.courses[found]]


def _php_int(value: str) -> int:
    digits = value.strip()
    return int(digits) if digits.lstrip("-").isdigit() else 0


_NEW_COURSE = Single(
    {
        "fullname": text(),
        "shortname": text(),
        "categoryid": int_(),
        "idnumber": text(OPTIONAL),
        "summary": text(OPTIONAL),
        "summaryformat": int_(DEFAULT, 1),
        "format": text(OPTIONAL),
        "showgrades": int_(OPTIONAL),
        "newsitems": int_(OPTIONAL),
        "startdate": int_(OPTIONAL),
        "enddate": int_(OPTIONAL),
        "numsections": int_(OPTIONAL),
        "maxbytes": int_(OPTIONAL),
        "showreports": int_(OPTIONAL),
        "visible": int_(OPTIONAL),
        "hiddensections": int_(OPTIONAL),
        "groupmode": int_(OPTIONAL),
        "groupmodeforce": int_(OPTIONAL),
        "defaultgroupingid": int_(OPTIONAL),
        "enablecompletion": int_(OPTIONAL),
        "completionnotify": int_(OPTIONAL),
        "lang": text(OPTIONAL),
        "forcetheme": text(OPTIONAL),
        "courseformatoptions": Multiple(Single({"name": text(), "value": text()}), OPTIONAL),
        "customfields": Multiple(Single({"shortname": text(), "value": text()}), OPTIONAL),
    }
)


@ws_function(
    "core_course_create_courses", Single({"courses": Multiple(_NEW_COURSE)}), rows_key="courses"
)
def create_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [_create_course(call, row) for row in params["courses"]]


def _create_course(call: Call, row: dict[str, Any]) -> dict[str, Any]:
    platform = call.platform
    if row["categoryid"] not in platform.categories:
        raise moodle_exception(
            "errorcatcontextnotvalid",
            f"You cannot execute functions in the category context (category id:"
            f"{row['categoryid']}). The context error message was: Invalid parameter value "
            "detected",
        )
    call.require("moodle/course:create")
    check_unique_course(platform, row.get("shortname"), row.get("idnumber"))
    copied = (
        "summary",
        "format",
        "startdate",
        "enddate",
        "lang",
        "visible",
        "newsitems",
        "enablecompletion",
    )
    extra: dict[str, Any] = {k: row[k] for k in copied if k in row}
    course = platform.add_course(
        row["shortname"],
        row["fullname"],
        row["categoryid"],
        idnumber=row.get("idnumber", ""),
        **extra,
    )
    platform.tick()
    for enrol, status in (("manual", 0), ("guest", 1), ("self", 1)):
        platform.add_instance(course.id, enrol, status=status)
    if platform.site.profile.welcome_messages:  # enrol_manual::add_default_instance (4.4+)
        platform.course_instances(course.id, "manual")[
            0
        ].customint1 = platform.site.manual_welcome_default
    return {"id": course.id, "shortname": course.shortname}


def check_unique_course(
    platform: Platform, shortname: str | None, idnumber: str | None, courseid: int | None = None
) -> None:
    taken = platform.course_by_shortname.get(shortname or "")
    if shortname and taken is not None and taken != courseid:
        raise moodle_exception(
            "shortnametaken", f"Short name is already used for another course ({shortname})"
        )
    taken = platform.course_by_idnumber.get(idnumber or "")
    if idnumber and taken is not None and taken != courseid:
        raise moodle_exception(
            "courseidnumbertaken", f"ID number is already used for another course ({idnumber})"
        )


def category_path(platform: Platform, categoryid: int) -> list[int]:
    """The ids from the top-level category down to ``categoryid`` (Moodle's ``path``)."""
    path: list[int] = []
    current = platform.categories.get(categoryid)
    while current is not None and current.id not in path:
        path.insert(0, current.id)
        current = platform.categories.get(current.parent)
    return path


def _may_manage(call: Call) -> bool:
    capabilities = call.token.capabilities
    return capabilities is None or "moodle/category:manage" in capabilities


_CRITERIA = ("id", "ids", "name", "parent", "idnumber", "visible", "theme")


def _matching(call: Call, criteria: list[dict[str, str]]) -> set[int]:
    """Moodle's get_categories: every criterion must hold; idnumber, visible and theme need
    the right to manage (or see hidden) categories, else ``criteriaerror``."""
    chosen = set(call.platform.categories)
    seen: set[str] = set()
    for criterion in criteria:
        key, value = criterion["key"].strip(), criterion["value"]
        if key in seen:
            continue  # Moodle keeps the first of a duplicated key
        seen.add(key)
        if key not in _CRITERIA:
            raise moodle_exception("criteriaerror", "Missing permissions to search on a criterion.")
        if key in ("idnumber", "visible", "theme") and not _may_manage(call):
            raise moodle_exception("criteriaerror", "Missing permissions to search on a criterion.")
        categories = call.platform.categories
        if key == "ids":
            wanted = {int(v) for v in value.split(",") if v.strip().isdigit()}
            chosen &= wanted
        elif key in ("id", "parent"):
            number = int(value) if value.strip().lstrip("-").isdigit() else 0
            attribute = "id" if key == "id" else "parent"
            chosen &= {c.id for c in categories.values() if getattr(c, attribute) == number}
        elif key == "idnumber":
            chosen &= {c.id for c in categories.values() if (c.idnumber or "") == value}
        elif key == "name":
            chosen &= {c.id for c in categories.values() if c.name == value}
        elif key == "visible":
            chosen &= set(categories) if value.strip() == "1" else set()
        else:  # theme: the simulator's categories have none
            chosen &= set(categories) if value == "" else set()
    return chosen


@ws_function(
    "core_course_get_categories",
    Single(
        {
            "criteria": Multiple(Single({"key": text(), "value": text()}), DEFAULT, []),
            "addsubcategories": Value("bool", DEFAULT, True),
        }
    ),
)
def get_categories(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    chosen = set(platform.categories)
    if params["criteria"]:
        chosen = _matching(call, params["criteria"])
        if chosen and params["addsubcategories"]:
            chosen |= {
                c.id
                for c in platform.categories.values()
                if set(category_path(platform, c.id)[:-1]) & chosen
            }
    counts: dict[int, int] = {}
    for course in platform.courses.values():
        counts[course.category] = counts.get(course.category, 0) + 1
    manager = _may_manage(call)
    rows = []
    for category in sorted((platform.categories[i] for i in chosen), key=lambda c: c.id):
        path = category_path(platform, category.id)
        row: dict[str, Any] = {
            "id": category.id,
            "name": category.name,
            "description": "",
            "descriptionformat": 1,
            "parent": category.parent,
            "sortorder": category.id * 10000,
            "coursecount": counts.get(category.id, 0),
            "depth": len(path),
            "path": "/" + "/".join(map(str, path)),
        }
        if manager:  # fields Moodle answers only to who may manage the category
            row |= {
                "idnumber": category.idnumber,
                "visible": 1,
                "visibleold": 1,
                "timemodified": category.timemodified,
                "theme": "",
            }
        rows.append(row)
    return rows


@ws_function(
    "core_course_get_courses",
    Single(
        {
            "options": Single({"ids": Multiple(int_(), OPTIONAL)}, DEFAULT, {}),
        }
    ),
)
def get_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    ids = params["options"].get("ids")
    courses = call.platform.courses
    chosen = sorted(courses) if ids is None else [i for i in ids if i in courses]
    return _records(call.platform, [courses[i] for i in chosen])


_COURSE_UPDATE = Single(
    {
        "id": int_(),
        "fullname": text(OPTIONAL),
        "shortname": text(OPTIONAL),
        "categoryid": int_(OPTIONAL),
        "idnumber": text(OPTIONAL),
        "summary": text(OPTIONAL),
        "summaryformat": int_(OPTIONAL),
        "format": text(OPTIONAL),
        "visible": int_(OPTIONAL),
        "startdate": int_(OPTIONAL),
        "enddate": int_(OPTIONAL),
        "lang": text(OPTIONAL),
        "newsitems": int_(OPTIONAL),
        "enablecompletion": int_(OPTIONAL),
        "courseformatoptions": Multiple(Single({"name": text(), "value": text()}), OPTIONAL),
        "customfields": Multiple(Single({"shortname": text(), "value": text()}), OPTIONAL),
    }
)
_UPDATABLE = (
    "fullname",
    "summary",
    "format",
    "visible",
    "startdate",
    "enddate",
    "lang",
    "newsitems",
    "enablecompletion",
)


@ws_function(
    "core_course_update_courses",
    Single({"courses": Multiple(_COURSE_UPDATE)}),
    rows_key="courses",
    transactional=False,
)
def update_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Each course in its own try/catch in Moodle: failures become warnings (code '1')."""
    warnings = []
    for row in params["courses"]:
        try:
            with call.platform.transaction():
                _update_course(call, row)
        except WsException as error:
            warnings.append(
                {
                    "item": "course",
                    "itemid": row["id"],
                    "warningcode": "1",
                    "message": error.message,
                }
            )
    return {"warnings": warnings}


def _update_course(call: Call, row: dict[str, Any]) -> None:
    platform = call.platform
    course = platform.courses.get(row["id"])
    if course is None:
        raise missing_record("course")
    call.require("moodle/course:update", course.id)
    if "categoryid" in row and row["categoryid"] not in platform.categories:
        raise missing_record("course_categories")
    check_unique_course(platform, row.get("shortname"), row.get("idnumber"), course.id)
    for key in _UPDATABLE:
        if key in row:
            setattr(course, key, row[key])
    if "categoryid" in row:
        course.category = row["categoryid"]
    for key, index in (
        ("shortname", platform.course_by_shortname),
        ("idnumber", platform.course_by_idnumber),
    ):
        if key in row and row[key] != getattr(course, key):
            index.pop(getattr(course, key), None)
            setattr(course, key, row[key])
            if row[key]:
                index[row[key]] = course.id
    course.timemodified = platform.tick()
