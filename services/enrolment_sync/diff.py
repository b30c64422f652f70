"""The difference between what Moodle should hold and what the service's ledger says it wrote.

An enrolment is one integer, ``course << 40 | user << 8 | role``, so that the diff is two C-level
set differences over machine-word integers; the rare cases (a reactivation, a changed role) are
sorted out afterwards on the difference only, which is small in every run but the first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from services.enrolment_sync.meta import Roster
from services.enrolment_sync.wanted import Membership

_ROLE_BITS, _USER_BITS = 8, 32
_ROLE_MASK, _USER_MASK = (1 << _ROLE_BITS) - 1, (1 << _USER_BITS) - 1
_COURSE_SHIFT = _ROLE_BITS + _USER_BITS


def pack(course: int, user: int, role: int) -> int:
    if role > _ROLE_MASK or user > _USER_MASK:
        raise ValueError(f"role {role} or user {user} does not fit the packed enrolment")
    return (course << _COURSE_SHIFT) | (user << _ROLE_BITS) | role


def unpack(key: int) -> tuple[int, int, int]:
    return key >> _COURSE_SHIFT, (key >> _ROLE_BITS) & _USER_MASK, key & _ROLE_MASK


def course_of(key: int) -> int:
    return key >> _COURSE_SHIFT


def _pair(key: int) -> int:
    return key >> _ROLE_BITS


@dataclass
class Ledger:
    """The enrolments the service made, packed: active ones, and the ones it suspended."""

    active: set[int] = field(default_factory=set)
    suspended: set[int] = field(default_factory=set)


@dataclass
class EnrolmentDiff:
    adds: set[int] = field(default_factory=set)  # new enrolments, or a role that changed
    reactivations: set[int] = field(default_factory=set)  # suspended by us, wanted again
    removals: set[int] = field(default_factory=set)  # packed with the role we gave


@dataclass
class GroupDiff:
    adds: set[Membership] = field(default_factory=set)
    removals: set[Membership] = field(default_factory=set)


def wanted_keys(rosters: Mapping[int, Roster]) -> set[int]:
    keys: set[int] = set()
    for course, roster in rosters.items():
        keys.update(pack(course, user, role) for user, role in roster.items())
    return keys


def diff_enrolments(wanted: set[int], ledger: Ledger) -> EnrolmentDiff:
    """Adds, reactivations and removals — never of an enrolment the ledger does not hold."""
    new = wanted - ledger.active
    gone = ledger.active - wanted
    if not new and not gone:
        return EnrolmentDiff()
    suspended = {_pair(key) for key in ledger.suspended}
    gone_pairs = {_pair(key) for key in gone}
    reactivations = {key for key in new if _pair(key) in suspended}
    # Same user and course, another role: re-enrolled with the new role, not removed.
    role_changes = {_pair(key) for key in new} & gone_pairs
    return EnrolmentDiff(
        adds=new - reactivations,
        reactivations=reactivations,
        removals={key for key in gone if _pair(key) not in role_changes},
    )


def without_pairs(keys: set[int], pairs: Collection[tuple[int, int]]) -> set[int]:
    """The enrolments whose (course, user) is not one of ``pairs``, whatever the role."""
    if not pairs:
        return keys
    dropped = {(course << _USER_BITS) | user for course, user in pairs}
    return {key for key in keys if _pair(key) not in dropped}


def diff_groups(wanted: set[Membership], ledger: set[Membership]) -> GroupDiff:
    return GroupDiff(adds=wanted - ledger, removals=ledger - wanted)


@dataclass(frozen=True)
class Safeguard:
    course_id: int
    removals: int
    enrolled: int


def safeguard_trips(
    removals: Iterable[int],
    ledger: Ledger,
    *,
    max_share: float,
    min_course_size: int,
) -> dict[int, Safeguard]:
    """Courses that would lose too large a share of the enrolments the service made.

    A source that answers nothing must not empty Moodle: emptying a course always trips, and
    beyond ``min_course_size`` so does losing more than ``max_share`` of it.
    """
    removed = _count_by_course(removals)
    if not removed:
        return {}
    active = _count_by_course(k for k in ledger.active if course_of(k) in removed)
    tripped = {}
    for course, count in removed.items():
        enrolled = active.get(course, 0)
        emptied = count >= enrolled
        too_many = enrolled >= min_course_size and count > max_share * enrolled
        if emptied or too_many:
            tripped[course] = Safeguard(course_id=course, removals=count, enrolled=enrolled)
    return tripped


def _count_by_course(keys: Iterable[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for key in keys:
        course = course_of(key)
        counts[course] = counts.get(course, 0) + 1
    return counts
