"""Records of one simulated Moodle site, shaped after Moodle's tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ENROL_ENABLED = 0
ENROL_DISABLED = 1
UE_ACTIVE = 0
UE_SUSPENDED = 1
NON_META = 0  # role assignment itemid of manual (component '') assignments


@dataclass
class User:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    idnumber: str = ""
    auth: str = "manual"
    suspended: bool = False
    deleted: bool = False
    firstaccess: int = 0
    lastaccess: int = 0
    department: str = ""
    lang: str = "en"
    mnethostid: int = 1

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass
class Category:
    id: int
    name: str
    idnumber: str | None = None
    parent: int = 0
    timemodified: int = 0


@dataclass
class Course:
    id: int
    category: int
    fullname: str
    shortname: str
    idnumber: str = ""
    summary: str = ""
    format: str = "topics"
    visible: int = 1
    startdate: int = 0
    enddate: int = 0
    newsitems: int = 5
    enablecompletion: int = 1
    lang: str = ""
    timecreated: int = 0
    timemodified: int = 0
    sortorder: int = 0
    instance_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    # userid -> {(roleid, itemid)}; itemid 0 = manual assignment, else the meta instance id.
    roles: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    backup_file: Path | None = None


@dataclass
class UserEnrolment:
    userid: int
    status: int = UE_ACTIVE
    timestart: int = 0
    timeend: int = 0


@dataclass
class EnrolInstance:
    id: int
    courseid: int
    enrol: str  # manual, self, guest, meta
    status: int = ENROL_ENABLED
    # meta: the linked (parent) course; manual (4.4+): the course welcome message option
    customint1: int = 0
    customint2: int = 0  # meta: the child-course group its users are added to (0: none)
    name: str = ""
    users: dict[int, UserEnrolment] = field(default_factory=dict)


@dataclass
class Group:
    id: int
    courseid: int
    name: str
    idnumber: str = ""
    description: str = ""
    descriptionformat: int = 1
    enrolmentkey: str | None = None
    visibility: int = 0  # GROUPS_VISIBILITY_ALL (4.2+)
    participation: bool = True  # (4.2+)
    members: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Role:
    id: int
    shortname: str
    capabilities: frozenset[str] = frozenset()
    archetype: str = ""
    # role_context_levels: whether the role can be assigned in a course context
    course_assignable: bool = True


@dataclass
class Token:
    token: str
    userid: int
    functions: tuple[str, ...]  # the functions of the token's external service, in order
    capabilities: frozenset[str] | None = None  # None: site administrator, every capability


# Moodle's standard role ids, as on a fresh 4.1 site.
MANAGER, COURSECREATOR, EDITINGTEACHER, TEACHER, STUDENT, GUEST, USER = range(1, 8)

DEFAULT_ROLES = (
    Role(1, "manager", frozenset({"*"}), "manager"),
    Role(
        2,
        "coursecreator",
        frozenset({"moodle/course:create"}),
        "coursecreator",
        course_assignable=False,
    ),
    Role(
        3,
        "editingteacher",
        frozenset(
            {
                "moodle/course:update",
                "moodle/course:managegroups",
                "moodle/course:viewparticipants",
            }
        ),
        "editingteacher",
    ),
    Role(4, "teacher", frozenset({"moodle/course:viewparticipants"}), "teacher"),
    # lib/db/access.php: moodle/course:viewparticipants is allowed to students too
    Role(5, "student", frozenset({"moodle/course:viewparticipants"}), "student"),
    Role(6, "guest", frozenset(), "guest", course_assignable=False),
    Role(7, "user", frozenset(), "user", course_assignable=False),
)
