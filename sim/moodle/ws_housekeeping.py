"""Categories and deletions: what a contract run needs to set itself up and clean up after.

Sources (moodle/moodle): ``course/externallib.php`` ``core_course_external::create_categories``
(parent must exist: ``unknowcategory``; ``moodle/category:manage``), ``delete_categories``
(``recursive`` deletes the contents, subcategories included; otherwise they move to
``newparent`` or the parent, ``movecatcontentstoroot`` for a top-level category),
``delete_courses`` (per-course ``warnings[]``: ``unknowncourseidnumber``, and
``cannotdeletecourse`` without ``moodle/course:delete``; never an exception for a course),
``user/externallib.php`` ``core_user_external::delete_users`` (all-or-nothing; the site
administrator, the guest and the caller cannot be deleted: ``invalid_parameter_exception``,
``moodle_exception`` 'useradminodelete' / 'usernotdeleteddeleted').
"""

from __future__ import annotations

from typing import Any

from sim.moodle.params import DEFAULT, OPTIONAL, Multiple, Single, Value, int_, text
from sim.moodle.registry import Call, ws_function
from sim.moodle.ws_courses import category_path
from sim.moodle.ws_errors import WsException, invalid_parameter, missing_record, moodle_exception

_NEW_CATEGORY = Single(
    {
        "name": text(),
        "parent": int_(DEFAULT, 0),
        "idnumber": text(OPTIONAL),
        "description": text(OPTIONAL),
        "descriptionformat": int_(DEFAULT, 1),
        "theme": text(OPTIONAL),
    }
)


@ws_function(
    "core_course_create_categories",
    Single({"categories": Multiple(_NEW_CATEGORY)}),
    rows_key="categories",
)
def create_categories(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    platform = call.platform
    call.require("moodle/category:manage")
    created = []
    for row in params["categories"]:
        if row["parent"] and row["parent"] not in platform.categories:
            raise moodle_exception("unknowcategory", "Unknown category")
        idnumber = row.get("idnumber") or None
        if idnumber and any(c.idnumber == idnumber for c in platform.categories.values()):
            raise moodle_exception("categoryidnumbertaken", "ID number is already used")
        category = platform.add_category(row["name"], idnumber=idnumber, parent=row["parent"])
        created.append({"id": category.id, "name": category.name})
    return created


_DELETE_CATEGORY = Single(
    {
        "id": int_(),
        "newparent": int_(OPTIONAL),
        "recursive": int_(DEFAULT, 0),
    }
)


@ws_function(
    "core_course_delete_categories",
    Single({"categories": Multiple(_DELETE_CATEGORY)}),
    rows_key="categories",
)
def delete_categories(call: Call, params: dict[str, Any]) -> None:
    platform = call.platform
    call.require("moodle/category:manage")
    for row in params["categories"]:
        category = platform.categories.get(row["id"])
        if category is None:
            raise missing_record("course_categories")
        if row["recursive"]:
            inside = {
                c.id
                for c in platform.categories.values()
                if row["id"] in category_path(platform, c.id)
            }
            for course in [c for c in platform.courses.values() if c.category in inside]:
                _forget_course(call, course.id)
            for categoryid in inside:
                platform.categories.pop(categoryid)
            continue
        destination = row.get("newparent") or category.parent
        if not destination:
            raise moodle_exception(
                "movecatcontentstoroot",
                "Moving the contents of a category to the root is not allowed",
            )
        if destination not in platform.categories or destination == row["id"]:
            raise missing_record("course_categories")
        for course in platform.courses.values():
            if course.category == row["id"]:
                course.category = destination
        for child in platform.categories.values():
            if child.parent == row["id"]:
                child.parent = destination
        platform.categories.pop(row["id"])


@ws_function(
    "core_course_delete_courses",
    Single({"courseids": Multiple(int_())}),
    rows_key="courseids",
    transactional=False,
)
def delete_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    warnings = []
    for courseid in params["courseids"]:
        if courseid not in call.platform.courses or courseid == 1:
            warnings.append(
                {
                    "item": "course",
                    "itemid": courseid,
                    "warningcode": "unknowncourseidnumber",
                    "message": "Unknown course ID " + str(courseid),
                }
            )
            continue
        try:
            call.require("moodle/course:delete", courseid)
        except WsException:  # can_delete_course() false: a warning, the others go on
            warnings.append(
                {
                    "item": "course",
                    "itemid": courseid,
                    "warningcode": "cannotdeletecourse",
                    "message": "You do not have the permission to delete this course"
                    + str(courseid),
                }
            )
            continue
        _forget_course(call, courseid)
    return {"warnings": warnings}


def _forget_course(call: Call, courseid: int) -> None:
    platform = call.platform
    course = platform.courses.pop(courseid)
    platform.course_by_shortname.pop(course.shortname, None)
    if course.idnumber:
        platform.course_by_idnumber.pop(course.idnumber, None)
    for instanceid in course.instance_ids:
        platform.instances.pop(instanceid, None)
    for groupid in course.group_ids:
        platform.groups.pop(groupid, None)
    for courses in platform.user_courses.values():
        courses.discard(courseid)


@ws_function(
    "core_user_delete_users",
    Single({"userids": Multiple(Value("int"))}),
    rows_key="userids",
)
def delete_users(call: Call, params: dict[str, Any]) -> None:
    platform = call.platform
    call.require("moodle/user:delete")
    for userid in params["userids"]:
        user = platform.users.get(userid)
        if user is None or user.deleted:
            raise invalid_parameter()
        if userid == call.token.userid or user.username in ("admin", "guest"):
            raise moodle_exception("useradminodelete", "Administrator accounts cannot be deleted")
        # delete_user(): the account stays, renamed and marked deleted, its enrolments gone
        for instance in platform.instances.values():
            instance.users.pop(userid, None)
        platform.user_courses.pop(userid, None)
        platform.user_by_username.pop(user.username, None)
        user.deleted = True
        user.username = f"{user.email}.{platform.tick()}"
