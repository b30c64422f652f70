"""Typed rows of the write functions; ``as_param()`` gives the dict Moodle expects (no None).

Batching sizes every row of a write (hundreds of thousands in a sync run), so a row counts its
encoded fields from its attributes, without building the dict that ``dataclasses.asdict`` would
(deep copies, recursion): the field names of each row class are looked up once and kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

JsonDict = dict[str, Any]


def _without_none(values: JsonDict) -> JsonDict:
    return {key: value for key, value in values.items() if value is not None}


# Values the encoding sends as one field each; anything else takes the exact, slower path.
_SCALARS = frozenset({int, str, bool, float})
_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _count(value: Any) -> int:
    """Fields the PHP bracket encoding gives ``value`` (as ``encoding.encode_params`` does)."""
    if value is None:
        return 0
    if type(value) in _SCALARS:
        return 1
    if isinstance(value, _Row):
        return value.field_count()
    if isinstance(value, Mapping):
        return sum(_count(item) for item in value.values())
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return sum(_count(item) for item in value)
    return 1


@dataclass(frozen=True)
class _Row:
    def as_param(self) -> JsonDict:
        values: JsonDict = {}
        for name in _names(type(self)):
            value = getattr(self, name)
            if value is None:
                continue
            if type(value) not in _SCALARS:  # nested rows or sequences: deep conversion
                return _without_none(asdict(self))
            values[name] = value
        return values

    def field_count(self) -> int:
        """The request fields this row takes once encoded: exact, so never fewer."""
        return sum(_count(getattr(self, name)) for name in _names(type(self)))


@dataclass(frozen=True)
class ManualEnrolment(_Row):
    roleid: int
    userid: int
    courseid: int
    timestart: int | None = None
    timeend: int | None = None
    suspend: bool | None = None


@dataclass(frozen=True)
class ManualUnenrolment(_Row):
    userid: int
    courseid: int
    roleid: int | None = None


@dataclass(frozen=True)
class MetaLink(_Row):
    metacourseid: int  # the course that receives the instance (the child)
    courseid: int  # the linked course whose enrolments are copied
    creategroup: bool | None = None


@dataclass(frozen=True)
class NewGroup(_Row):
    courseid: int
    name: str
    description: str = ""
    descriptionformat: int | None = None
    enrolmentkey: str | None = None
    idnumber: str | None = None


@dataclass(frozen=True)
class GroupMember(_Row):
    groupid: int
    userid: int


@dataclass(frozen=True)
class CustomField(_Row):
    shortname: str
    value: str


@dataclass(frozen=True)
class NewCourse(_Row):
    fullname: str
    shortname: str
    categoryid: int
    idnumber: str | None = None
    summary: str | None = None
    format: str | None = None
    startdate: int | None = None
    enddate: int | None = None
    visible: bool | None = None
    lang: str | None = None
    customfields: tuple[CustomField, ...] | None = None


@dataclass(frozen=True)
class CourseUpdate(_Row):
    id: int
    fullname: str | None = None
    shortname: str | None = None
    categoryid: int | None = None
    idnumber: str | None = None
    summary: str | None = None
    visible: bool | None = None
    startdate: int | None = None
    enddate: int | None = None
    customfields: tuple[CustomField, ...] | None = None


@dataclass(frozen=True)
class NewUser(_Row):
    username: str
    firstname: str
    lastname: str
    email: str
    auth: str = "manual"
    password: str | None = None
    createpassword: bool | None = None
    idnumber: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class UserUpdate(_Row):
    id: int
    username: str | None = None
    auth: str | None = None
    suspended: bool | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    idnumber: str | None = None


@dataclass(frozen=True)
class UserCriterion(_Row):
    key: str
    value: str


@dataclass(frozen=True)
class NewCategory(_Row):
    """A row of ``core_course_create_categories`` (``parent`` 0: a top-level category)."""

    name: str
    parent: int = 0
    idnumber: str | None = None
    description: str | None = None
    descriptionformat: int | None = None


@dataclass(frozen=True)
class CategoryDeletion(_Row):
    """A row of ``core_course_delete_categories``: ``recursive`` deletes what the category
    holds (courses, subcategories); otherwise it moves to ``newparent`` or the category's
    parent (Moodle refuses ``movecatcontentstoroot`` for a top-level category)."""

    id: int
    newparent: int | None = None
    recursive: bool | None = None
