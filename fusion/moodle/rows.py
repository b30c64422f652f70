"""Typed rows of the write functions; ``as_param()`` gives the dict Moodle expects (no None)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

JsonDict = dict[str, Any]


def _without_none(values: JsonDict) -> JsonDict:
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class _Row:
    def as_param(self) -> JsonDict:
        return _without_none(asdict(self))


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
class CreatedRecord:
    id: int
    row: Any = field(compare=False)
