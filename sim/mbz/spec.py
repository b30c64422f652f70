"""What a generated backup holds, in Moodle's own vocabulary (ids are source-site ids)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SITE_COURSE_ID = 1
# quiz module version from which quiz.xml uses question references (Moodle 4.0, MDL-71696)
QUIZ_REFERENCES_VERSION = 2022020300


@dataclass(frozen=True, kw_only=True, slots=True)
class FileSpec:
    """A stored file; its body is `content`, or `size` deterministic bytes drawn from `seed`."""

    filename: str
    component: str
    filearea: str
    size: int = 0
    seed: int = 0
    content: bytes | None = None
    mimetype: str = "application/octet-stream"
    itemid: int = 0
    filepath: str = "/"

    @property
    def length(self) -> int:
        return len(self.content) if self.content is not None else self.size


@dataclass(frozen=True, kw_only=True, slots=True)
class CourseSpec:
    id: int
    shortname: str
    fullname: str
    format: str = "topics"
    idnumber: str = ""
    category_id: int = 1
    category_name: str = "Miscellaneous"
    startdate: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class SectionSpec:
    id: int
    number: int
    name: str | None = None
    summary: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class QuestionSpec:
    """A question of the course bank; `qtype="random"` makes a legacy random question."""

    id: int
    name: str
    qtype: str = "truefalse"
    questiontext: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class LtiToolSpec:
    """The `ltitype` a lti activity points at; course == SITE_COURSE_ID makes a site tool."""

    id: int
    name: str
    course: int = SITE_COURSE_ID
    baseurl: str = ""
    ltiversion: str = "LTI-1p0"


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivitySpec:
    """One course module. Type-specific fields are read only for their `modname`."""

    cmid: int
    modname: str
    title: str
    section_id: int
    instance_id: int | None = None
    module_version: int | None = None
    files: tuple[FileSpec, ...] = ()
    # quiz: question ids of the slots, in slot order
    slots: tuple[int, ...] = ()
    # lti
    typeid: int = 0
    toolurl: str = ""
    tool: LtiToolSpec | None = None
    # hvp
    machine_name: str = "H5P.InteractiveVideo"
    major_version: int = 1
    minor_version: int = 22

    @property
    def directory(self) -> str:
        return f"activities/{self.modname}_{self.cmid}"


@dataclass(frozen=True, kw_only=True, slots=True)
class UserSpec:
    id: int
    username: str
    email: str
    firstname: str
    lastname: str
    idnumber: str = ""
    auth: str = "manual"
    firstaccess: int = 0
    deleted: bool = False
    mnethosturl: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleSpec:
    """A role definition as `roles.xml` carries it; restore maps it by shortname, then archetype."""

    id: int
    shortname: str
    archetype: str
    name: str = ""
    sortorder: int = 0


# Moodle's standard roles with their install ids: a backup names them unless the spec overrides.
STANDARD_ROLES = {
    role.id: role
    for role in (
        RoleSpec(id=1, shortname="manager", archetype="manager", sortorder=1),
        RoleSpec(id=2, shortname="coursecreator", archetype="coursecreator", sortorder=2),
        RoleSpec(id=3, shortname="editingteacher", archetype="editingteacher", sortorder=3),
        RoleSpec(id=4, shortname="teacher", archetype="teacher", sortorder=4),
        RoleSpec(id=5, shortname="student", archetype="student", sortorder=5),
        RoleSpec(id=6, shortname="guest", archetype="guest", sortorder=6),
        RoleSpec(id=7, shortname="user", archetype="user", sortorder=7),
    )
}


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleAssignmentSpec:
    """A role held in the course context; component "" is a manual assignment, an
    `enrol_<plugin>` component ties it to the enrolment instance `itemid` (e.g. enrol_meta)."""

    user_id: int
    role_id: int
    component: str = ""
    itemid: int = 0


EnrolMethod = Literal["manual", "self", "guest", "meta", "cohort", "database"]


@dataclass(frozen=True, kw_only=True, slots=True)
class EnrolSpec:
    """An enrolment instance; for `meta`, `linked_course_id` is customint1 on the source site."""

    id: int
    method: EnrolMethod
    enabled: bool = True
    roleid: int = 5
    name: str | None = None
    linked_course_id: int | None = None
    group_id: int | None = None
    user_ids: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class SiteSpec:
    """The Moodle that made the backup."""

    moodle_version: str = "2021051707"
    moodle_release: str = "3.11.7 (Build: 20220509)"
    backup_version: str = "2021051700"
    backup_release: str = "3.11"
    wwwroot: str = "https://moodle.example.test"
    identifier_hash: str = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True, kw_only=True, slots=True)
class BackupSpec:
    course: CourseSpec
    site: SiteSpec = field(default_factory=SiteSpec)
    backup_type: Literal["course", "activity"] = "course"
    backup_date: int = 1_700_000_000
    sections: tuple[SectionSpec, ...] = ()
    activities: tuple[ActivitySpec, ...] = ()
    questions: tuple[QuestionSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    enrolments: tuple[EnrolSpec, ...] = ()
    # course-context role assignments (written only with users); `roles` adds or overrides
    # definitions beyond STANDARD_ROLES
    role_assignments: tuple[RoleAssignmentSpec, ...] = ()
    roles: tuple[RoleSpec, ...] = ()
    course_files: tuple[FileSpec, ...] = ()
    with_archive_index: bool = True

    @property
    def users_included(self) -> bool:
        return bool(self.users)
