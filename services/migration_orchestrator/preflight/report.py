"""The pre-flight report: what a backup holds and what its restore will run into."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from services.migration_orchestrator.preflight.report_examples import example_of

Severity = Literal["info", "warning", "blocking"]
QuestionBankFormat = Literal["none", "legacy", "4.x"]


class Finding(BaseModel):
    """One thing the restore will run into: its code, severity and bilingual message."""

    model_config = example_of("Finding")

    code: str
    severity: Severity
    message: str
    message_fr: str
    subject: str | None = None


class ArchiveFacts(BaseModel):
    """The archive itself: container, members and sizes."""

    model_config = example_of("ArchiveFacts")

    container: Literal["tar.gz", "zip"]
    members: int
    compressed_bytes: int
    uncompressed_bytes: int
    index_entries: int | None


class MoodleFacts(BaseModel):
    """The Moodle that made the backup (moodle_backup.xml)."""

    model_config = example_of("MoodleFacts")

    version: str | None
    release: str | None
    backup_version: str | None
    backup_release: str | None
    backup_date: int | None
    original_wwwroot: str | None
    original_site_identifier_hash: str | None


class CourseFacts(BaseModel):
    """The backed-up course as the backup names it."""

    model_config = example_of("CourseFacts")

    id: int | None
    shortname: str | None
    fullname: str | None
    format: str | None


class SectionFacts(BaseModel):
    """One section of the course."""

    model_config = example_of("SectionFacts")

    id: int
    number: int | None
    title: str | None


class ActivityFacts(BaseModel):
    """One activity (course module) of the backup."""

    model_config = example_of("ActivityFacts")

    cmid: int
    modname: str
    title: str
    section_id: int | None
    module_version: int | None


class LtiActivity(BaseModel):
    """An external tool (LTI) activity and the tool it needs on the target."""

    model_config = example_of("LtiActivity")

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

    model_config = example_of("H5pItem")

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
    """The question bank: its format, questions by type, random questions."""

    model_config = example_of("QuestionFacts")

    bank_format: QuestionBankFormat
    total: int
    by_type: dict[str, int]
    random: int


class SharedRandomQuestion(BaseModel):
    """A random question used by several quiz slots (MDL-75696: blocks the restore on
    Moodle 4.0–4.2)."""

    model_config = example_of("SharedRandomQuestion")

    question_id: int
    quiz_cmids: list[int]
    quiz_titles: list[str]
    slots: int


class MetaLink(BaseModel):
    """A meta-link enrolment: the course it feeds from."""

    model_config = example_of("MetaLink")

    enrol_id: int
    source_course_id: int | None
    group_id: int | None


class EnrolmentMethod(BaseModel):
    """An enrolment method of the course and how many enrolments it holds."""

    model_config = example_of("EnrolmentMethod")

    id: int
    method: str
    enabled: bool
    name: str | None
    role_id: int | None
    user_enrolments: int


class BackupUser(BaseModel):
    """What identity's restore-check needs to replay `restore_dbops::precheck_user`."""

    model_config = example_of("BackupUser")

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
    """Whether users are included, how many, and each of them."""

    model_config = example_of("UserFacts")

    included: bool
    count: int
    items: list[BackupUser]


class FileFacts(BaseModel):
    """Files declared by files.xml and file bodies present in the archive."""

    model_config = example_of("FileFacts")

    declared: int
    declared_bytes: int
    bodies: int
    body_bytes: int


class BackupReport(BaseModel):
    """The pre-flight report of one backup: what it holds and what its restore will run into."""

    model_config = example_of("BackupReport")

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
