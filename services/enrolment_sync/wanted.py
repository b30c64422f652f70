"""From Apogée rosters to the enrolments and group memberships each course should have."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fusion.apogee import ApogeeGroup, CodeRoster
from services.enrolment_sync.meta import Roster

RosterKey = tuple[str, int]  # (Apogée code, year or 0 for the current year)
GroupKey = tuple[int, str]  # (course id, group idnumber = Apogée group code)
Membership = tuple[int, str, int]  # (course id, group idnumber, user id)


@dataclass(frozen=True)
class MethodSpec:
    course_id: int
    code: str
    year_key: int
    role_id: int
    groups: bool
    course_created_empty: bool = False


@dataclass
class Wanted:
    direct: dict[int, Roster] = field(default_factory=lambda: defaultdict(dict))
    groups: dict[GroupKey, str] = field(default_factory=dict)
    members: set[Membership] = field(default_factory=set)
    missing: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    unknown_codes: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


def group_name(group: ApogeeGroup) -> str:
    # Moodle refuses two groups with one name in a course; the code keeps names apart.
    return f"{group.label} ({group.code})" if group.label else group.code


def wanted_state(
    methods: Iterable[MethodSpec],
    rosters: Mapping[RosterKey, CodeRoster],
    users: Mapping[str, int],
) -> Wanted:
    """The direct enrolments (before meta flow) and group memberships of each method's course."""
    wanted = Wanted()
    for method in methods:
        roster = rosters.get((method.code, method.year_key))
        if roster is None or roster.status == "unknown":
            wanted.unknown_codes[method.course_id].append(method.code)
            wanted.direct.setdefault(method.course_id, {})  # an empty roster, not no roster
            continue
        _add_members(wanted, method, roster, users)
        if method.groups:
            _add_groups(wanted, method, roster, users)
    return wanted


def _add_members(
    wanted: Wanted, method: MethodSpec, roster: CodeRoster, users: Mapping[str, int]
) -> None:
    course = wanted.direct[method.course_id]
    for cod_etu in roster.members:
        user = users.get(cod_etu)
        if user is None:
            wanted.missing[method.course_id].add(cod_etu)
        else:
            course.setdefault(user, method.role_id)


def _add_groups(
    wanted: Wanted, method: MethodSpec, roster: CodeRoster, users: Mapping[str, int]
) -> None:
    enrolled = wanted.direct[method.course_id]
    for group in roster.groups:
        wanted.groups[(method.course_id, group.code)] = group_name(group)
        for cod_etu in group.members:
            user = users.get(cod_etu)
            if user is not None and user in enrolled:
                wanted.members.add((method.course_id, group.code, user))
