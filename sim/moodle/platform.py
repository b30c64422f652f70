"""One simulated Moodle site: records, indexes, id sequences and the undo journal.

Writes made inside ``transaction()`` are undone when the block raises, like Moodle's delegated
transaction around a WS call; id sequences are not rewound (PostgreSQL sequences are not either,
which is why the recordings skip course ids 7 and 8).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sim.moodle.entities import (
    DEFAULT_ROLES,
    Category,
    Course,
    EnrolInstance,
    Group,
    Role,
    Token,
    User,
)
from sim.moodle.releases import MOODLE_41, Release

Undo = Callable[[], object]


@dataclass
class SiteInfo:
    sitename: str
    wwwroot: str
    profile: Release = MOODLE_41
    site_identifier: str = "simulated-site"
    max_input_vars: int = 5000
    clock: int = 1796011500
    # restore settings: backup | import_general_duplicate_admin_allowed (MDL-21912),
    # $CFG->forcedifferentsitecheckingusersonrestore, $CFG->disableusercreationonrestore
    duplicate_admin_allowed: bool = False
    force_different_site_checking: bool = False
    disable_user_creation_on_restore: bool = False
    # enrol_manual/sendcoursewelcomemessage: the welcome setting of new manual instances (4.4+)
    manual_welcome_default: int = 1
    # $CFG->allowaccountssameemail (default off: one account per e-mail address)
    allow_accounts_same_email: bool = False

    @property
    def release(self) -> str:
        return self.profile.release

    @property
    def version(self) -> str:
        return self.profile.version


@dataclass
class Platform:
    name: str
    site: SiteInfo
    users: dict[int, User] = field(default_factory=dict)
    categories: dict[int, Category] = field(default_factory=dict)
    courses: dict[int, Course] = field(default_factory=dict)
    instances: dict[int, EnrolInstance] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    user_by_username: dict[str, int] = field(default_factory=dict)
    course_by_shortname: dict[str, int] = field(default_factory=dict)
    course_by_idnumber: dict[str, int] = field(default_factory=dict)
    user_courses: dict[int, set[int]] = field(default_factory=dict)
    meta_children: dict[int, list[int]] = field(default_factory=dict)
    # (courseid, userid) of each course welcome message sent (4.4+ manual enrolment)
    notifications: list[tuple[int, int]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    _sequences: dict[str, Iterator[int]] = field(default_factory=dict)
    _undo: list[Undo] | None = None

    def __post_init__(self) -> None:
        for role in DEFAULT_ROLES:
            self.roles[role.id] = role

    # --- sequences and journal -------------------------------------------------------------

    def next_id(self, table: str, *, at_least: int = 1) -> int:
        if table not in self._sequences:
            self._sequences[table] = itertools.count(at_least)
        return next(self._sequences[table])

    def reserve_ids(self, table: str, used: int) -> None:
        """After seeding explicit ids, make the sequence continue above them."""
        current = next(self._sequences[table]) if table in self._sequences else 1
        self._sequences[table] = itertools.count(max(current, used + 1))

    def record(self, undo: Undo) -> None:
        if self._undo is not None:
            self._undo.append(undo)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._undo is not None:  # nested: the outer transaction decides
            yield
            return
        self._undo = []
        try:
            yield
        except BaseException:
            for undo in reversed(self._undo):
                undo()
            raise
        finally:
            self._undo = None

    def tick(self) -> int:
        self.site.clock += 1
        return self.site.clock

    # --- inserts (used by seeding and by the WS functions) -------------------------------

    def _insert(self, table: dict[int, object], key: int, value: object) -> None:
        table[key] = value
        self.record(lambda: table.pop(key, None))

    def add_category(
        self, name: str, *, idnumber: str | None = None, id: int | None = None, parent: int = 0
    ) -> Category:
        category = Category(id or self.next_id("category"), name, idnumber, parent, self.clock)
        self._insert(self.categories, category.id, category)  # type: ignore[arg-type]
        if id is not None:
            self.reserve_ids("category", id)
        return category

    @property
    def clock(self) -> int:
        return self.site.clock

    def add_user(
        self,
        username: str,
        firstname: str,
        lastname: str,
        email: str,
        *,
        id: int | None = None,
        **extra: Any,
    ) -> User:
        user = User(
            id or self.next_id("user", at_least=2), username, firstname, lastname, email, **extra
        )
        self._insert(self.users, user.id, user)  # type: ignore[arg-type]
        self.user_by_username[username] = user.id
        self.record(lambda: self.user_by_username.pop(username, None))
        if id is not None:
            self.reserve_ids("user", id)
        return user

    def add_course(
        self,
        shortname: str,
        fullname: str,
        category: int,
        *,
        id: int | None = None,
        **extra: Any,
    ) -> Course:
        course = Course(
            id or self.next_id("course", at_least=2),
            category,
            fullname,
            shortname,
            timecreated=self.clock,
            timemodified=self.clock,
            **extra,
        )
        self._insert(self.courses, course.id, course)  # type: ignore[arg-type]
        self._index_course(course)
        if id is not None:
            self.reserve_ids("course", id)
        return course

    def _index_course(self, course: Course) -> None:
        shortname, idnumber = course.shortname, course.idnumber
        self.course_by_shortname[shortname] = course.id
        self.record(lambda: self.course_by_shortname.pop(shortname, None))
        if idnumber:
            self.course_by_idnumber[idnumber] = course.id
            self.record(lambda: self.course_by_idnumber.pop(idnumber, None))

    def add_instance(
        self,
        courseid: int,
        enrol: str,
        *,
        status: int = 0,
        customint1: int = 0,
        id: int | None = None,
    ) -> EnrolInstance:
        instance = EnrolInstance(id or self.next_id("enrol"), courseid, enrol, status, customint1)
        self._insert(self.instances, instance.id, instance)  # type: ignore[arg-type]
        ids = self.courses[courseid].instance_ids
        ids.append(instance.id)
        self.record(lambda: ids.remove(instance.id))
        if id is not None:
            self.reserve_ids("enrol", id)
        return instance

    def add_group(
        self,
        courseid: int,
        name: str,
        *,
        idnumber: str = "",
        description: str = "",
        id: int | None = None,
        enrolmentkey: str | None = None,
    ) -> Group:
        group = Group(
            id or self.next_id("groups"),
            courseid,
            name,
            idnumber,
            description,
            enrolmentkey=enrolmentkey,
        )
        self._insert(self.groups, group.id, group)  # type: ignore[arg-type]
        ids = self.courses[courseid].group_ids
        ids.append(group.id)
        self.record(lambda: ids.remove(group.id))
        if id is not None:
            self.reserve_ids("groups", id)
        return group

    def add_token(
        self,
        token: str,
        *,
        userid: int,
        functions: tuple[str, ...],
        capabilities: frozenset[str] | None = None,
    ) -> Token:
        self.tokens[token] = Token(token, userid, functions, capabilities)
        return self.tokens[token]

    # --- lookups ---------------------------------------------------------------------------

    def course_instances(self, courseid: int, enrol: str | None = None) -> list[EnrolInstance]:
        found = [self.instances[i] for i in self.courses[courseid].instance_ids]
        return [i for i in found if enrol is None or i.enrol == enrol]

    def enrolled_userids(self, courseid: int) -> set[int]:
        userids: set[int] = set()
        for instance in self.course_instances(courseid):
            userids.update(instance.users)
        return userids

    def live_user(self, userid: int) -> User | None:
        user = self.users.get(userid)
        return None if user is None or user.deleted else user

    def user_groups(self, courseid: int, userid: int) -> list[Group]:
        groups = (self.groups[g] for g in self.courses[courseid].group_ids)
        return [g for g in groups if userid in g.members]
