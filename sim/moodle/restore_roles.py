"""Restoring enrolment instances, user enrolments and the course context's role assignments.

Roles follow Moodle: ``precheck_included_roles`` maps each role of ``roles.xml`` to the best
role the restoring admin can assign in a course (``get_best_assignable_role``: same shortname,
else same archetype, else editingteacher -> teacher, else skipped). The enrolment plugins restore
user enrolments **without** a role (``restore_user_enrolment`` enrols with roleid null); roles come
only from ``course/roles.xml`` (``restore_ras_and_caps_structure_step::process_assignment``), and
only when the ``role_assignments`` setting is on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.moodle.archive import int_of, text_of
from sim.moodle.enrolments import assign_role, enrol_user
from sim.moodle.entities import NON_META, Course, Role
from sim.moodle.platform import Platform


def map_roles(platform: Platform, definitions: Any) -> dict[int, int]:
    """Backup role id -> target role id, for the roles that found an assignable match."""
    if definitions is None:
        return {}
    mapping: dict[int, int] = {}
    for role in definitions.findall("role"):
        match = _best_assignable_role(
            platform, text_of(role, "shortname"), text_of(role, "archetype")
        )
        if match is not None:
            mapping[int(role.get("id"))] = match.id
    return mapping


def _best_assignable_role(platform: Platform, shortname: str, archetype: str) -> Role | None:
    assignable = sorted(
        (r for r in platform.roles.values() if r.course_assignable), key=lambda r: r.id
    )
    tests: list[Callable[[Role], bool]] = [
        lambda r: r.shortname == shortname,
        lambda r: archetype != "" and r.archetype == archetype,
        lambda r: shortname == "editingteacher" and r.shortname == "teacher",  # 1.9 backups
    ]
    for wanted in tests:
        found = next((r for r in assignable if wanted(r)), None)
        if found is not None:
            return found
    return None


def restore_enrolments(
    platform: Platform, course: Course, documents: dict[str, Any], users: dict[int, int | None]
) -> None:
    """Instances, user enrolments, then role assignments (``users``: backup -> local id)."""
    enrolments = documents.get("course/enrolments.xml")
    if enrolments is None:
        manual = platform.add_instance(course.id, "manual")
        if platform.site.profile.welcome_messages:  # a default instance: the site default
            manual.customint1 = platform.site.manual_welcome_default
        return
    instances: dict[int, int] = {}
    for enrol in enrolments.findall("enrols/enrol"):
        method = text_of(enrol, "enrol")
        if method == "meta":
            continue  # cross-site restore maps meta instances to nothing (reference §3)
        instance = platform.add_instance(course.id, method, status=int_of(enrol, "status"))
        if method == "manual":  # the instance's settings travel with it (welcome option)
            instance.customint1 = int_of(enrol, "customint1")
        instances[int(enrol.get("id"))] = instance.id
        for ue in enrol.findall("user_enrolments/enrolment"):
            local = _live(platform, users.get(int_of(ue, "userid")))
            if local is None:
                continue  # not in users.xml (or deleted): Moodle has no user to enrol
            enrol_user(
                platform,
                instance,
                local,
                roleid=None,
                status=int_of(ue, "status"),
                timestart=int_of(ue, "timestart"),
                timeend=int_of(ue, "timeend"),
            )
    if root_setting(documents, "role_assignments"):
        _restore_assignments(platform, course, documents, users, instances)


def _restore_assignments(
    platform: Platform,
    course: Course,
    documents: dict[str, Any],
    users: dict[int, int | None],
    instances: dict[int, int],
) -> None:
    assignments = documents.get("course/roles.xml")
    if assignments is None:
        return
    roles = map_roles(platform, documents.get("roles.xml"))
    for assignment in assignments.findall("role_assignments/assignment"):
        roleid = roles.get(int_of(assignment, "roleid"))
        userid = _live(platform, users.get(int_of(assignment, "userid")))
        if roleid is None or userid is None:
            continue
        component = text_of(assignment, "component")
        if component == "":
            assign_role(platform, course.id, userid, roleid, NON_META)
        elif component.startswith("enrol_"):
            # tied to its enrolment instance: kept only if that instance was restored
            itemid = instances.get(int_of(assignment, "itemid"))
            if itemid is not None:
                assign_role(platform, course.id, userid, roleid, itemid)


def _live(platform: Platform, userid: int | None) -> int | None:
    return None if userid is None or platform.live_user(userid) is None else userid


def root_setting(documents: dict[str, Any], name: str) -> bool:
    manifest = documents["moodle_backup.xml"]
    for setting in manifest.findall("information/settings/setting"):
        if text_of(setting, "level") == "root" and text_of(setting, "name") == name:
            return text_of(setting, "value") == "1"
    return False
