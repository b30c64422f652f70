"""Enrolments, role assignments and the synchronous meta-link observer of one platform.

Meta semantics follow ``enrol/meta`` (reference §3, recordings 05): a meta instance in a child
course mirrors the parent's non-meta enrolments; a suspended parent enrolment gives a suspended
child enrolment without roles, and a removed one leaves the child enrolment suspended without
roles (``ENROL_EXT_REMOVED_SUSPENDNOROLES``). Changes made by a meta instance never propagate
further: links do not chain.
"""

from __future__ import annotations

from sim.moodle.entities import (
    ENROL_ENABLED,
    NON_META,
    UE_ACTIVE,
    UE_SUSPENDED,
    EnrolInstance,
    UserEnrolment,
)
from sim.moodle.platform import Platform
from sim.moodle.releases import WELCOME_OFF


def enrol_user(
    platform: Platform,
    instance: EnrolInstance,
    userid: int,
    *,
    roleid: int | None,
    status: int = UE_ACTIVE,
    timestart: int = 0,
    timeend: int = 0,
) -> None:
    new = userid not in instance.users
    _set_enrolment(platform, instance, userid, UserEnrolment(userid, status, timestart, timeend))
    if new:
        _welcome(platform, instance, userid)
    if roleid is not None:
        itemid = instance.id if instance.enrol == "meta" else NON_META
        assign_role(platform, instance.courseid, userid, roleid, itemid)
    _after_change(platform, instance, userid)


def _welcome(platform: Platform, instance: EnrolInstance, userid: int) -> None:
    """enrol_manual's after_user_enrolled hook (4.4+): only a new enrolment, only when the
    instance's customint1 asks for it. Moodle sends messages after the commit: undone with it."""
    if not platform.site.profile.welcome_messages or instance.enrol != "manual":
        return
    if instance.customint1 == WELCOME_OFF:
        return
    sent = platform.notifications
    sent.append((instance.courseid, userid))
    platform.record(lambda: sent.remove((instance.courseid, userid)))


def unenrol_user(platform: Platform, instance: EnrolInstance, userid: int) -> None:
    if userid not in instance.users:
        return
    _set_enrolment(platform, instance, userid, None)
    course = platform.courses[instance.courseid]
    if instance.enrol == "meta":
        _replace_roles(platform, instance.courseid, userid, instance.id, set())
    if not any(userid in i.users for i in platform.course_instances(course.id)):
        # Moodle drops every role in the course once the last enrolment is gone.
        _set_roles(platform, course.id, userid, set())
    _after_change(platform, instance, userid)


def assign_role(platform: Platform, courseid: int, userid: int, roleid: int, itemid: int) -> None:
    current = platform.courses[courseid].roles.get(userid, set())
    _set_roles(platform, courseid, userid, current | {(roleid, itemid)})


def add_meta_instance(
    platform: Platform, childid: int, parentid: int, *, groupid: int = 0
) -> EnrolInstance:
    instance = platform.add_instance(childid, "meta", customint1=parentid)
    instance.customint2 = groupid
    children = platform.meta_children.setdefault(parentid, [])
    children.append(instance.id)
    platform.record(lambda: children.remove(instance.id))
    for userid in _non_meta_userids(platform, parentid):
        sync_meta_user(platform, instance, userid)
    return instance


def sync_meta_user(platform: Platform, meta: EnrolInstance, userid: int) -> None:
    parent_id = meta.customint1
    parent_enrolments = [
        (i, i.users[userid])
        for i in platform.course_instances(parent_id)
        if i.enrol != "meta" and userid in i.users
    ]
    existing = meta.users.get(userid)
    if not parent_enrolments:
        if existing is not None:
            suspended = UserEnrolment(userid, UE_SUSPENDED, existing.timestart, existing.timeend)
            _set_enrolment(platform, meta, userid, suspended)
            _replace_roles(platform, meta.courseid, userid, meta.id, set())
        return
    active = any(
        i.status == ENROL_ENABLED and ue.status == UE_ACTIVE for i, ue in parent_enrolments
    )
    status = UE_ACTIVE if active else UE_SUSPENDED
    if existing is None or existing.status != status:
        _set_enrolment(platform, meta, userid, UserEnrolment(userid, status))
    parent_roles = platform.courses[parent_id].roles.get(userid, set())
    wanted = {r for r, item in parent_roles if item == NON_META} if active else set()
    _replace_roles(platform, meta.courseid, userid, meta.id, wanted)
    group = platform.groups.get(meta.customint2)
    if group is not None and userid not in group.members:
        group.members.add(userid)
        platform.record(lambda: group.members.discard(userid))


def is_active(platform: Platform, courseid: int, userid: int) -> bool:
    now = platform.clock
    for instance in platform.course_instances(courseid):
        ue = instance.users.get(userid)
        if ue is None or instance.status != ENROL_ENABLED or ue.status != UE_ACTIVE:
            continue
        if ue.timestart <= now and (ue.timeend == 0 or ue.timeend > now):
            return True
    return False


def _after_change(platform: Platform, instance: EnrolInstance, userid: int) -> None:
    if instance.enrol == "meta":
        return  # enrol_meta ignores enrolments made by meta instances: no chaining
    for child_id in platform.meta_children.get(instance.courseid, []):
        sync_meta_user(platform, platform.instances[child_id], userid)


def _non_meta_userids(platform: Platform, courseid: int) -> set[int]:
    userids: set[int] = set()
    for instance in platform.course_instances(courseid):
        if instance.enrol != "meta":
            userids.update(instance.users)
    return userids


def _set_enrolment(
    platform: Platform, instance: EnrolInstance, userid: int, value: UserEnrolment | None
) -> None:
    previous = instance.users.get(userid)
    _store_enrolment(platform, instance, userid, value)
    platform.record(lambda: _store_enrolment(platform, instance, userid, previous))


def _store_enrolment(
    platform: Platform, instance: EnrolInstance, userid: int, value: UserEnrolment | None
) -> None:
    if value is None:
        instance.users.pop(userid, None)
        if not any(userid in i.users for i in platform.course_instances(instance.courseid)):
            platform.user_courses.get(userid, set()).discard(instance.courseid)
    else:
        instance.users[userid] = value
        platform.user_courses.setdefault(userid, set()).add(instance.courseid)


def _replace_roles(
    platform: Platform, courseid: int, userid: int, itemid: int, roleids: set[int]
) -> None:
    current = platform.courses[courseid].roles.get(userid, set())
    kept = {(r, item) for r, item in current if item != itemid}
    _set_roles(platform, courseid, userid, kept | {(r, itemid) for r in roleids})


def _set_roles(platform: Platform, courseid: int, userid: int, value: set[tuple[int, int]]) -> None:
    roles = platform.courses[courseid].roles
    previous = roles.get(userid)
    if previous == value or (previous is None and not value):
        return
    _store_roles(roles, userid, value)
    platform.record(lambda: _store_roles(roles, userid, previous))


def _store_roles(
    roles: dict[int, set[tuple[int, int]]], userid: int, value: set[tuple[int, int]] | None
) -> None:
    if value:
        roles[userid] = value
    else:
        roles.pop(userid, None)


def delete_meta_instance(platform: Platform, instance: EnrolInstance) -> None:
    for userid in list(instance.users):
        unenrol_user(platform, instance, userid)
    platform.meta_children.get(instance.customint1, []).remove(instance.id)
    platform.courses[instance.courseid].instance_ids.remove(instance.id)
    del platform.instances[instance.id]
