"""The pre-flight report: what a backup holds and what its restore will run into."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Severity = Literal["info", "warning", "blocking"]
QuestionBankFormat = Literal["none", "legacy", "4.x"]


class Finding(BaseModel):
    code: str
    severity: Severity
    message: str
    message_fr: str
    subject: str | None = None


class ArchiveFacts(BaseModel):
    container: Literal["tar.gz", "zip"]
    members: int
    compressed_bytes: int
    uncompressed_bytes: int
    index_entries: int | None


class MoodleFacts(BaseModel):
    version: str | None
    release: str | None
    backup_version: str | None
    backup_release: str | None
    backup_date: int | None
    original_wwwroot: str | None
    original_site_identifier_hash: str | None


class CourseFacts(BaseModel):
    id: int | None
    shortname: str | None
    fullname: str | None
    format: str | None


class SectionFacts(BaseModel):
    id: int
    number: int | None
    title: str | None


class ActivityFacts(BaseModel):
    cmid: int
    modname: str
    title: str
    section_id: int | None
    module_version: int | None


class LtiActivity(BaseModel):
    cmid: int
    title: str
    typeid: int | None
    toolurl: str | None
    tool_name: str | None
    tool_baseurl: str | None
    tool_course: int | None
    site_tool: bool
    arrives_unbound: bool


class H5pItem(BaseModel):
    """An H5P package. `html`: referenced from rich text of the activity `cmid` or the section
    `section_id`, in its `field` (intro, content, summary...); `present` says whether the
    backup carries the package. `embedded`: a `.h5p` file no text of the backup refers to."""

    kind: Literal["h5pactivity", "hvp", "contentbank", "embedded", "html"]
    cmid: int | None
    title: str
    machine_name: str | None = None
    package_bytes: int
    section_id: int | None = None
    field: str | None = None
    reference: str | None = None
    present: bool | None = None


class QuestionFacts(BaseModel):
    bank_format: QuestionBankFormat
    total: int
    by_type: dict[str, int]
    random: int


class SharedRandomQuestion(BaseModel):
    question_id: int
    quiz_cmids: list[int]
    quiz_titles: list[str]
    slots: int


class MetaLink(BaseModel):
    enrol_id: int
    source_course_id: int | None
    group_id: int | None


class EnrolmentMethod(BaseModel):
    id: int
    method: str
    enabled: bool
    name: str | None
    role_id: int | None
    user_enrolments: int


class BackupUser(BaseModel):
    """What identity's restore-check needs to replay `restore_dbops::precheck_user`."""

    id: int
    username: str
    email: str | None
    auth: str | None
    idnumber: str | None
    firstname: str | None
    lastname: str | None
    firstaccess: int | None
    deleted: bool
    mnethosturl: str | None


class UserFacts(BaseModel):
    included: bool
    count: int
    items: list[BackupUser]


class FileFacts(BaseModel):
    declared: int
    declared_bytes: int
    bodies: int
    body_bytes: int


class BackupReport(BaseModel):
    archive: ArchiveFacts
    moodle: MoodleFacts
    backup_type: str
    course: CourseFacts
    sections: list[SectionFacts]
    activities: list[ActivityFacts]
    activities_by_type: dict[str, int]
    lti: list[LtiActivity]
    h5p: list[H5pItem]
    questions: QuestionFacts
    shared_random_questions: list[SharedRandomQuestion]
    meta_links: list[MetaLink]
    enrolment_methods: list[EnrolmentMethod]
    users: UserFacts
    files: FileFacts
    findings: list[Finding]
    blocking: bool
