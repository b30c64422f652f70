"""Role documents of a course backup: `roles.xml` (definitions) and `course/roles.xml`.

Moodle's backup annotates every role the course refers to (role assignments and the default
role of each enrolment instance) and writes only those definitions in `roles.xml`, in id order
(see the fixtures). The course context's assignments go to `course/roles.xml`, and only when the
`role_assignments` setting is on, which follows the `users` setting.
"""

from __future__ import annotations

from sim.mbz.spec import STANDARD_ROLES, BackupSpec, RoleSpec
from sim.mbz.xmltext import close_tag, document, element, empty, open_tag


class UnknownRole(ValueError):
    """The spec refers to a role id that is neither standard nor defined in `spec.roles`."""


def referenced_roles(spec: BackupSpec) -> list[RoleSpec]:
    definitions = STANDARD_ROLES | {role.id: role for role in spec.roles}
    ids = {e.roleid for e in spec.enrolments if e.roleid}
    if spec.users_included:
        ids |= {a.role_id for a in spec.role_assignments}
    missing = sorted(ids - definitions.keys())
    if missing:
        raise UnknownRole(f"role ids without a definition: {missing}")
    return [definitions[role_id] for role_id in sorted(ids)]


def roles_definition_xml(spec: BackupSpec) -> bytes:
    roles = "".join(
        element(
            "role",
            2,
            {
                "name": role.name,
                "shortname": role.shortname,
                "nameincourse": None,
                "description": "",
                "sortorder": role.sortorder,
                "archetype": role.archetype,
            },
            attrs={"id": role.id},
        )
        for role in referenced_roles(spec)
    )
    return document(open_tag("roles_definition", 0) + roles + close_tag("roles_definition", 0))


def course_roles_xml(spec: BackupSpec) -> bytes:
    assignments = spec.role_assignments if spec.users_included else ()
    body = "".join(
        element(
            "assignment",
            4,
            {
                "roleid": a.role_id,
                "userid": a.user_id,
                "timemodified": spec.backup_date,
                "modifierid": 2,
                "component": a.component,
                "itemid": a.itemid,
                "sortorder": 0,
            },
            attrs={"id": n},
        )
        for n, a in enumerate(assignments, start=1)
    )
    return document(
        open_tag("roles", 0)
        + empty("role_overrides", 2)
        + open_tag("role_assignments", 2)
        + body
        + close_tag("role_assignments", 2)
        + close_tag("roles", 0)
    )
