"""The files of one `activities/<modname>_<cmid>/` directory."""

from __future__ import annotations

from collections.abc import Callable

from sim.mbz.documents import MODULE_CONTEXT_BASE
from sim.mbz.spec import QUIZ_REFERENCES_VERSION, SITE_COURSE_ID, ActivitySpec, LtiToolSpec
from sim.mbz.xmltext import Scalar, close_tag, document, element, empty, open_tag

# module versions as a 3.11 site writes them in module.xml
DEFAULT_MODULE_VERSIONS = {
    "quiz": 2021051700,
    "lti": 2021051700,
    "h5pactivity": 2021051700,
    "hvp": 2020112600,
    "forum": 2021051700,
}


def module_contextid(activity: ActivitySpec) -> int:
    return MODULE_CONTEXT_BASE + activity.cmid


def module_version(activity: ActivitySpec) -> int:
    return activity.module_version or DEFAULT_MODULE_VERSIONS.get(activity.modname, 2021051700)


def module_xml(activity: ActivitySpec) -> bytes:
    return document(
        element(
            "module",
            0,
            {
                "modulename": activity.modname,
                "sectionid": activity.section_id,
                "sectionnumber": 0,
                "idnumber": "",
                "added": 0,
                "score": 0,
                "indent": 0,
                "visible": 1,
                "visibleoncoursepage": 1,
                "groupmode": 0,
                "groupingid": 0,
                "completion": 0,
                "availability": None,
                "showdescription": 0,
            },
            attrs={"id": activity.cmid, "version": module_version(activity)},
            children=[empty("tags", 2)],
        )
    )


def _legacy_slot(slot: int, question_id: int) -> str:
    return element(
        "question_instance",
        6,
        {
            "slot": slot,
            "page": slot,
            "requireprevious": 0,
            "questionid": question_id,
            "questioncategoryid": None,
            "includingsubcategories": None,
            "maxmark": "1.0000000",
        },
        attrs={"id": slot},
        children=[empty("tags", 8)],
    )


def _reference_slot(slot: int, question_id: int, activity: ActivitySpec) -> str:
    reference = element(
        "question_reference",
        8,
        {
            "usingcontextid": module_contextid(activity),
            "component": "mod_quiz",
            "questionarea": "slot",
            "questionbankentryid": question_id,
            "version": None,
        },
        attrs={"id": slot},
    )
    return element(
        "question_instance",
        6,
        {
            "quizid": activity.instance_id or activity.cmid,
            "slot": slot,
            "page": slot,
            "requireprevious": 0,
            "maxmark": "1.0000000",
        },
        attrs={"id": slot},
        children=[reference],
    )


def _quiz(activity: ActivitySpec) -> tuple[dict[str, Scalar], list[str]]:
    references = module_version(activity) >= QUIZ_REFERENCES_VERSION
    slots = [
        _reference_slot(n, qid, activity) if references else _legacy_slot(n, qid)
        for n, qid in enumerate(activity.slots, start=1)
    ]
    values: dict[str, Scalar] = {
        "timeopen": 0,
        "timeclose": 0,
        "grademethod": 1,
        "sumgrades": f"{len(slots)}.00000",
        "grade": "10.00000",
    }
    children = [
        open_tag("question_instances", 4),
        *slots,
        close_tag("question_instances", 4),
        empty("feedbacks", 4),
        empty("attempts", 4),
    ]
    return values, children


def _lti_tool(tool: LtiToolSpec) -> str:
    # site tools leave the backup with only these four fields (backup_lti_stepslib)
    if tool.course == SITE_COURSE_ID:
        return element(
            "ltitype",
            4,
            {"course": tool.course, "name": tool.name, "toolproxyid": None},
            attrs={"id": tool.id},
        )
    return element(
        "ltitype",
        4,
        {
            "name": tool.name,
            "baseurl": tool.baseurl,
            "tooldomain": tool.baseurl.split("/")[2] if "//" in tool.baseurl else "",
            "state": 1,
            "course": tool.course,
            "coursevisible": 1,
            "ltiversion": tool.ltiversion,
            "clientid": None,
            "toolproxyid": None,
            "enabledcapability": None,
            "parameter": None,
            "description": "",
        },
        attrs={"id": tool.id},
        children=[empty("ltitypesconfigs", 6)],
    )


def _lti(activity: ActivitySpec) -> tuple[dict[str, Scalar], list[str]]:
    values: dict[str, Scalar] = {
        "typeid": activity.typeid,
        "toolurl": activity.toolurl,
        "securetoolurl": "",
        "launchcontainer": 1,
        "instructorcustomparameters": "",
        "resourcekey": "",
        "password": "",
    }
    children = [_lti_tool(activity.tool)] if activity.tool else []
    return values, [*children, empty("ltisubmissions", 4)]


def _hvp(activity: ActivitySpec) -> tuple[dict[str, Scalar], list[str]]:
    values: dict[str, Scalar] = {
        "machine_name": activity.machine_name,
        "major_version": activity.major_version,
        "minor_version": activity.minor_version,
        "json_content": "{}",
        "embed_type": "div",
        "filtered": "",
        "slug": activity.title.lower(),
    }
    return values, [empty("content_user_data", 4)]


def _h5pactivity(_: ActivitySpec) -> tuple[dict[str, Scalar], list[str]]:
    values: dict[str, Scalar] = {
        "grade": 100,
        "displayoptions": 15,
        "enabletracking": 1,
        "grademethod": 1,
        "reviewmode": 1,
    }
    return values, [empty("attempts", 4)]


def _generic(_: ActivitySpec) -> tuple[dict[str, Scalar], list[str]]:
    return {}, []


_BODIES: dict[str, Callable[[ActivitySpec], tuple[dict[str, Scalar], list[str]]]] = {
    "quiz": _quiz,
    "lti": _lti,
    "hvp": _hvp,
    "h5pactivity": _h5pactivity,
}


def activity_xml(activity: ActivitySpec) -> bytes:
    extra, children = _BODIES.get(activity.modname, _generic)(activity)
    instance_id = activity.instance_id or activity.cmid
    values: dict[str, Scalar] = {
        "name": activity.title,
        "intro": "",
        "introformat": 1,
        **extra,
        "timecreated": 0,
        "timemodified": 0,
    }
    body = element(activity.modname, 2, values, attrs={"id": instance_id}, children=children)
    return document(
        open_tag(
            "activity",
            0,
            {
                "id": instance_id,
                "moduleid": activity.cmid,
                "modulename": activity.modname,
                "contextid": module_contextid(activity),
            },
        )
        + body
        + close_tag("activity", 0)
    )


def inforef_xml(file_ids: list[int]) -> bytes:
    refs = "".join(element("file", 4, {"id": file_id}) for file_id in file_ids)
    return document(
        open_tag("inforef", 0)
        + open_tag("fileref", 2)
        + refs
        + close_tag("fileref", 2)
        + close_tag("inforef", 0)
    )


def hvp_libraries_xml(activities: list[ActivitySpec]) -> bytes:
    names = sorted({(a.machine_name, a.major_version, a.minor_version) for a in activities})
    libraries = "".join(
        element(
            "library",
            2,
            {
                "title": name,
                "machine_name": name,
                "major_version": major,
                "minor_version": minor,
                "patch_version": 0,
            },
            attrs={"id": n},
        )
        for n, (name, major, minor) in enumerate(names, start=1)
    )
    return document(open_tag("hvp_libraries", 0) + libraries + close_tag("hvp_libraries", 0))
