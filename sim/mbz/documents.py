"""Course-wide documents of a backup: manifest, course, sections, enrolments, users, questions."""

from __future__ import annotations

from collections.abc import Iterator

from sim.mbz.spec import BackupSpec, EnrolSpec, QuestionSpec, SectionSpec, UserSpec
from sim.mbz.xmltext import Scalar, close_tag, document, element, empty, open_tag

COURSE_CONTEXT_BASE = 10_000
MODULE_CONTEXT_BASE = 20_000
USER_CONTEXT_BASE = 30_000
# backups from Moodle 4.0 on write question bank entries and versions
BANK_ENTRIES_BACKUP_VERSION = 2022041900


def course_contextid(spec: BackupSpec) -> int:
    return COURSE_CONTEXT_BASE + spec.course.id


def backup_filename(spec: BackupSpec) -> str:
    suffix = "" if spec.users_included else "-nu"
    return f"backup-moodle2-{spec.backup_type}-{spec.course.id}-generated{suffix}.mbz"


def _manifest_information(spec: BackupSpec) -> dict[str, str | int]:
    return {
        "name": backup_filename(spec),
        "moodle_version": spec.site.moodle_version,
        "moodle_release": spec.site.moodle_release,
        "backup_version": spec.site.backup_version,
        "backup_release": spec.site.backup_release,
        "backup_date": spec.backup_date,
        "mnet_remoteusers": 0,
        "include_files": 1,
        "include_file_references_to_external_content": 0,
        "original_wwwroot": spec.site.wwwroot,
        "original_site_identifier_hash": spec.site.identifier_hash,
        "original_course_id": spec.course.id,
        "original_course_format": spec.course.format,
        "original_course_fullname": spec.course.fullname,
        "original_course_shortname": spec.course.shortname,
        "original_course_startdate": spec.course.startdate,
        "original_course_enddate": 0,
        "original_course_contextid": course_contextid(spec),
        "original_system_contextid": 1,
    }


def _manifest_contents(spec: BackupSpec) -> str:
    activities = "".join(
        element(
            "activity",
            8,
            {
                "moduleid": a.cmid,
                "sectionid": a.section_id,
                "modulename": a.modname,
                "title": a.title,
                "directory": a.directory,
            },
        )
        for a in spec.activities
    )
    parts = [
        open_tag("contents", 4),
        open_tag("activities", 6),
        activities,
        close_tag("activities", 6),
    ]
    if spec.backup_type == "course":
        sections = "".join(
            element(
                "section",
                8,
                {
                    "sectionid": s.id,
                    "title": s.name or str(s.number),
                    "directory": f"sections/section_{s.id}",
                },
            )
            for s in spec.sections
        )
        parts += [
            open_tag("sections", 6),
            sections,
            close_tag("sections", 6),
            element(
                "course",
                6,
                {"courseid": spec.course.id, "title": spec.course.shortname, "directory": "course"},
            ),
        ]
    parts.append(close_tag("contents", 4))
    return "".join(parts)


def _setting(level: str, name: str, value: int | str, owner: tuple[str, str] | None = None) -> str:
    values: dict[str, str | int] = {"level": level}
    if owner is not None:
        values[owner[0]] = owner[1]
    values |= {"name": name, "value": value}
    return element("setting", 6, values)


def _manifest_settings(spec: BackupSpec) -> str:
    users = int(spec.users_included)
    roots: dict[str, int | str] = {
        "filename": backup_filename(spec),
        "users": users,
        "anonymize": 0,
        "role_assignments": users,
        "activities": 1,
        "blocks": 1,
        "files": 1,
        "filters": 1,
        "comments": users,
        "badges": users,
        "calendarevents": 1,
        "userscompletion": users,
        "logs": 0,
        "grade_histories": 0,
        "questionbank": 1,
        "groups": 1,
        "competencies": 1,
        "customfield": 1,
        "contentbankcontent": 1,
        "legacyfiles": 1,
    }
    parts = [_setting("root", name, value) for name, value in roots.items()]
    for section in spec.sections if spec.backup_type == "course" else ():
        key = f"section_{section.id}"
        parts += [
            _setting("section", f"{key}_included", 1, ("section", key)),
            _setting("section", f"{key}_userinfo", users, ("section", key)),
        ]
    for activity in spec.activities:
        key = f"{activity.modname}_{activity.cmid}"
        parts += [
            _setting("activity", f"{key}_included", 1, ("activity", key)),
            _setting("activity", f"{key}_userinfo", users, ("activity", key)),
        ]
    return open_tag("settings", 4) + "".join(parts) + close_tag("settings", 4)


def manifest_xml(spec: BackupSpec) -> bytes:
    detail = element(
        "detail",
        6,
        {
            "type": spec.backup_type,
            "format": "moodle2",
            "interactive": 1,
            "mode": 10,
            "execution": 1,
            "executiontime": 0,
        },
        attrs={"backup_id": f"{spec.course.id:032x}"},
    )
    information = element(
        "information",
        2,
        _manifest_information(spec),
        children=[
            open_tag("details", 4),
            detail,
            close_tag("details", 4),
            _manifest_contents(spec),
            _manifest_settings(spec),
        ],
    )
    return document(open_tag("moodle_backup", 0) + information + close_tag("moodle_backup", 0))


def course_xml(spec: BackupSpec) -> bytes:
    course = spec.course
    category = element(
        "category",
        2,
        {"name": course.category_name, "description": None},
        attrs={"id": course.category_id},
    )
    return document(
        element(
            "course",
            0,
            {
                "shortname": course.shortname,
                "fullname": course.fullname,
                "idnumber": course.idnumber,
                "summary": "",
                "summaryformat": 1,
                "format": course.format,
                "showgrades": 1,
                "newsitems": 5,
                "startdate": course.startdate,
                "enddate": 0,
                "visible": 1,
            },
            attrs={"id": course.id, "contextid": course_contextid(spec)},
            children=[category, empty("tags", 2), empty("customfields", 2)],
        )
    )


def section_xml(section: SectionSpec, sequence: list[int]) -> bytes:
    return document(
        element(
            "section",
            0,
            {
                "number": section.number,
                "name": section.name,
                "summary": section.summary,
                "summaryformat": 1,
                "sequence": ",".join(map(str, sequence)),
                "visible": 1,
                "availabilityjson": None,
                "timemodified": 0,
            },
            attrs={"id": section.id},
        )
    )


def _enrol(enrol: EnrolSpec) -> str:
    customints: dict[str, int | None] = {f"customint{n}": None for n in range(1, 9)}
    if enrol.method == "meta":
        customints["customint1"] = enrol.linked_course_id
        customints["customint2"] = enrol.group_id or 0
    enrolments = "".join(
        element(
            "enrolment",
            8,
            {
                "status": 0,
                "userid": user_id,
                "timestart": 0,
                "timeend": 0,
                "modifierid": 2,
                "timemodified": 0,
            },
            attrs={"id": n},
        )
        for n, user_id in enumerate(enrol.user_ids, start=1)
    )
    values = {
        "enrol": enrol.method,
        "status": 0 if enrol.enabled else 1,
        "name": enrol.name,
        "enrolperiod": 0,
        "enrolstartdate": 0,
        "enrolenddate": 0,
        "roleid": enrol.roleid,
        **customints,
        "customchar1": None,
        "timecreated": 0,
        "timemodified": 0,
    }
    return element(
        "enrol",
        4,
        values,
        attrs={"id": enrol.id},
        children=[open_tag("user_enrolments", 6), enrolments, close_tag("user_enrolments", 6)],
    )


def enrolments_xml(spec: BackupSpec) -> bytes:
    enrols = "".join(_enrol(e) for e in spec.enrolments)
    return document(
        open_tag("enrolments", 0)
        + open_tag("enrols", 2)
        + enrols
        + close_tag("enrols", 2)
        + close_tag("enrolments", 0)
    )


def _user(user: UserSpec) -> str:
    values: dict[str, str | int | None] = {
        "username": user.username,
        "idnumber": user.idnumber,
        "email": user.email,
        "auth": user.auth,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "confirmed": 1,
        "deleted": int(user.deleted),
        "lang": "fr",
        "firstaccess": user.firstaccess,
        "lastaccess": user.firstaccess,
        "timecreated": 0,
        "timemodified": 0,
    }
    if user.mnethosturl is not None:
        values["mnethosturl"] = user.mnethosturl
    children = [
        empty("custom_fields", 4),
        empty("preferences", 4),
        open_tag("roles", 4),
        empty("role_overrides", 6),
        empty("role_assignments", 6),
        close_tag("roles", 4),
    ]
    return element(
        "user",
        2,
        values,
        attrs={"id": user.id, "contextid": USER_CONTEXT_BASE + user.id},
        children=children,
    )


def users_xml(spec: BackupSpec) -> Iterator[bytes]:
    yield document(open_tag("users", 0))
    for user in spec.users:
        yield _user(user).encode("utf-8")
    yield close_tag("users", 0).encode("utf-8")


def _question(question: QuestionSpec, indent: int) -> str:
    is_random = question.qtype == "random"
    # a legacy random question is its own parent, and its text says "include subcategories"
    values: dict[str, Scalar] = {
        "parent": question.id if is_random else 0,
        "name": question.name,
        "questiontext": "0" if is_random else question.questiontext,
        "questiontextformat": 0 if is_random else 1,
        "generalfeedback": "",
        "defaultmark": "1.0000000",
        "penalty": "0.0000000",
        "qtype": question.qtype,
        "length": 1,
        "stamp": f"generated+{question.id}",
        "version": f"generated+{question.id}+v",
        "hidden": 0,
    }
    return element(
        "question",
        indent,
        values,
        attrs={"id": question.id},
        children=[empty("question_hints", indent + 2), empty("tags", indent + 2)],
    )


def _bank_entry(question: QuestionSpec) -> str:
    """Moodle 4.x nests each question in its bank entry and version (MDL-71516)."""
    versions = element(
        "question_versions",
        10,
        {"version": 1, "status": "ready"},
        attrs={"id": question.id},
        children=[open_tag("questions", 12), _question(question, 14), close_tag("questions", 12)],
    )
    version = open_tag("question_version", 8) + versions + close_tag("question_version", 8)
    return element(
        "question_bank_entry",
        6,
        {"questioncategoryid": 2, "idnumber": None, "ownerid": None},
        attrs={"id": question.id},
        children=[version],
    )


def questions_xml(spec: BackupSpec) -> bytes:
    contextid = course_contextid(spec)
    top = element(
        "question_category",
        2,
        {
            "name": "top",
            "contextid": contextid,
            "contextlevel": 50,
            "contextinstanceid": spec.course.id,
            "info": "",
            "parent": 0,
        },
        attrs={"id": 1},
        children=[empty("questions", 4)],
    )
    if int(spec.site.backup_version) >= BANK_ENTRIES_BACKUP_VERSION:
        container = "question_bank_entries"
        body = "".join(_bank_entry(q) for q in spec.questions)
    else:
        container = "questions"
        body = "".join(_question(q, 6) for q in spec.questions)
    default = element(
        "question_category",
        2,
        {
            "name": f"Default for {spec.course.shortname}",
            "contextid": contextid,
            "contextlevel": 50,
            "contextinstanceid": spec.course.id,
            "info": "",
            "parent": 1,
        },
        attrs={"id": 2},
        children=[open_tag(container, 4), body, close_tag(container, 4)],
    )
    return document(
        open_tag("question_categories", 0) + top + default + close_tag("question_categories", 0)
    )


def empty_document(root: str) -> bytes:
    return document(empty(root, 0))


def files_xml_open() -> bytes:
    return document(open_tag("files", 0))


def file_entry(file_id: int, values: dict[str, str | int | None]) -> bytes:
    return element("file", 2, values, attrs={"id": file_id}).encode("utf-8")


def files_xml_close() -> bytes:
    return close_tag("files", 0).encode("utf-8")
