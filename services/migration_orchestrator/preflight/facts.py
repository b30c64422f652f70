"""Facts gathered member by member. A tar stream can't be rewound and Moodle writes members in
no fixed order, so each member adds what it knows and the report is assembled at the end."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from services.migration_orchestrator.preflight import backup_xml as bx
from services.migration_orchestrator.preflight.archive import ArchiveLimits, MemberStream
from services.migration_orchestrator.preflight.bounded_xml import XmlBounds
from services.migration_orchestrator.preflight.report import (
    ActivityFacts,
    BackupUser,
    CourseFacts,
    EnrolmentMethod,
    MoodleFacts,
    SectionFacts,
)
from services.migration_orchestrator.preflight.rich_text import (
    Embedding,
    RichTextScanner,
    ScannedStream,
)

_ACTIVITY = re.compile(r"^activities/([a-z0-9_]+?)_(\d+)/([a-z0-9_]+)\.xml$")
_SECTION = re.compile(r"^sections/section_(\d+)/section\.xml$")
_BODY = re.compile(r"^files/[0-9a-f]{2}/([0-9a-f]{40})$")
_LEGACY_QUESTION = ("question_categories", "question_category", "questions", "question")
_QUESTION_4X = (
    "question_categories",
    "question_category",
    "question_bank_entries",
    "question_bank_entry",
    "question_version",
    "question_versions",
    "questions",
    "question",
)
_H5P_AREAS = {("mod_h5pactivity", "package"), ("mod_hvp", "content"), ("contentbank", "public")}


@dataclass(slots=True)
class LtiRecord:
    title: str
    typeid: int | None
    toolurl: str | None
    tool: dict[str, str | None] | None


@dataclass(slots=True)
class DeclaredFile:
    contextid: int | None
    component: str
    filearea: str
    filepath: str
    filename: str
    size: int


@dataclass(slots=True)
class BackupFacts:
    limits: ArchiveLimits
    manifest_seen: bool = False
    backup_format: str | None = None
    moodle: MoodleFacts | None = None
    backup_type: str = "unknown"
    course: CourseFacts = field(
        default_factory=lambda: CourseFacts(id=None, shortname=None, fullname=None, format=None)
    )
    sections: list[SectionFacts] = field(default_factory=list)
    section_numbers: dict[int, int] = field(default_factory=dict)
    activities: list[ActivityFacts] = field(default_factory=list)
    module_versions: dict[int, int] = field(default_factory=dict)
    module_contexts: dict[int, int] = field(default_factory=dict)
    quiz_slots: dict[int, list[int]] = field(default_factory=dict)
    lti: dict[int, LtiRecord] = field(default_factory=dict)
    hvp_machine_names: dict[int, str] = field(default_factory=dict)
    question_types: Counter[str] = field(default_factory=Counter)
    random_questions: set[int] = field(default_factory=set)
    bank_format: str = "none"
    users: list[BackupUser] = field(default_factory=list)
    enrolments: list[EnrolmentMethod] = field(default_factory=list)
    meta_targets: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    declared_files: int = 0
    declared_bytes: int = 0
    declared_hashes: set[str] = field(default_factory=set)
    h5p_files: list[DeclaredFile] = field(default_factory=list)
    h5p_embeddings: list[Embedding] = field(default_factory=list)
    bodies: set[str] = field(default_factory=set)
    body_bytes: int = 0
    index_entries: int | None = None
    index_files: dict[str, int] | None = None
    unindexed: dict[str, int] = field(default_factory=dict)
    index_disagreements: int = 0

    def seen(self, name: str, size: int) -> None:
        """Compare a member as really read with what `.ARCHIVE_INDEX` claimed for it."""
        if name == ".ARCHIVE_INDEX":
            return
        if self.index_files is None:
            self.unindexed[name] = size
        elif self.index_files.pop(name, None) != size:
            self.index_disagreements += 1

    def finish_index(self) -> None:
        if self.index_files is None:
            return
        for name, size in self.unindexed.items():
            self.index_disagreements += self.index_files.pop(name, None) != size
        self.index_disagreements += len(self.index_files)

    def add(self, name: str, stream: MemberStream) -> None:
        handler = _FIXED.get(name)
        if handler is not None:
            handler(self, name, stream)
        elif match := _ACTIVITY.match(name):
            _activity_member(self, name, stream, match)
        elif match := _SECTION.match(name):
            scanned = self.scanned(stream, name)
            section = self.document(scanned, name, "section")
            self.section_numbers[int(match.group(1))] = bx.integer(section, "number") or 0
            self.embedded(scanned, section_id=int(match.group(1)))
        elif match := _BODY.match(name):
            stream.drain()
            self.bodies.add(match.group(1))
            self.body_bytes += stream.read_bytes

    def scanned(self, stream: bx.Readable, name: str) -> ScannedStream:
        """`stream`, with rich text scanned for embedded H5P as the reader goes through it."""
        return ScannedStream(stream, RichTextScanner(member=name, bounds=self.xml_bounds))

    def embedded(
        self, scanned: ScannedStream, *, cmid: int | None = None, section_id: int | None = None
    ) -> None:
        scanner = scanned.finish()
        contextid = _int_attr_of(scanner.root_attributes, "contextid")
        self.h5p_embeddings += [
            Embedding(cmid, section_id, contextid, reference) for reference in scanner.references
        ]

    def document(self, stream: bx.Readable, name: str, root: str) -> Element:
        return bx.document(
            stream,
            member=name,
            bounds=self.xml_bounds,
            max_bytes=self.limits.max_xml_document_bytes,
            root=root,
        )

    def records(
        self, stream: bx.Readable, name: str, *paths: bx.Path
    ) -> Iterator[tuple[bx.Path, Element]]:
        return bx.records(stream, paths=paths, member=name, bounds=self.xml_bounds)

    @property
    def xml_bounds(self) -> XmlBounds:
        limits = self.limits
        return XmlBounds(
            limits.max_xml_depth, limits.max_xml_token_bytes, limits.max_xml_record_bytes
        )


def _manifest(facts: BackupFacts, name: str, stream: MemberStream) -> None:
    root = facts.document(stream, name, "moodle_backup")
    info = root.find("information")
    if info is None:
        return
    facts.manifest_seen = True
    facts.moodle = MoodleFacts(
        version=bx.text(info, "moodle_version"),
        release=bx.text(info, "moodle_release"),
        backup_version=bx.text(info, "backup_version"),
        backup_release=bx.text(info, "backup_release"),
        backup_date=bx.integer(info, "backup_date"),
        original_wwwroot=bx.text(info, "original_wwwroot"),
        original_site_identifier_hash=bx.text(info, "original_site_identifier_hash"),
    )
    detail = info.find("details/detail")
    if detail is not None:
        facts.backup_type = bx.text(detail, "type") or "unknown"
        facts.backup_format = bx.text(detail, "format")
    facts.course = CourseFacts(
        id=bx.integer(info, "original_course_id"),
        shortname=bx.text(info, "original_course_shortname"),
        fullname=bx.text(info, "original_course_fullname"),
        format=bx.text(info, "original_course_format"),
    )
    facts.activities = [
        ActivityFacts(
            cmid=bx.integer(a, "moduleid") or 0,
            modname=bx.text(a, "modulename") or "",
            title=bx.text(a, "title") or "",
            section_id=bx.integer(a, "sectionid"),
            module_version=None,
        )
        for a in info.iterfind("contents/activities/activity")
    ]
    facts.sections = [
        SectionFacts(id=bx.integer(s, "sectionid") or 0, number=None, title=bx.text(s, "title"))
        for s in info.iterfind("contents/sections/section")
    ]


def _course(facts: BackupFacts, name: str, stream: MemberStream) -> None:
    course = facts.document(stream, name, "course")
    facts.course = CourseFacts(
        id=_int_attr(course, "id"),
        shortname=bx.text(course, "shortname"),
        fullname=bx.text(course, "fullname"),
        format=bx.text(course, "format"),
    )


def _enrolments(facts: BackupFacts, name: str, stream: MemberStream) -> None:
    for _, enrol in facts.records(stream, name, ("enrolments", "enrols", "enrol")):
        enrol_id = _int_attr(enrol, "id") or 0
        method = bx.text(enrol, "enrol") or ""
        facts.enrolments.append(
            EnrolmentMethod(
                id=enrol_id,
                method=method,
                enabled=bx.integer(enrol, "status") == 0,
                name=bx.text(enrol, "name"),
                role_id=bx.integer(enrol, "roleid"),
                user_enrolments=len(enrol.findall("user_enrolments/enrolment")),
            )
        )
        if method == "meta":
            facts.meta_targets[enrol_id] = (
                bx.integer(enrol, "customint1"),
                bx.integer(enrol, "customint2") or None,
            )


def _users(facts: BackupFacts, name: str, stream: MemberStream) -> None:
    for _, user in facts.records(stream, name, ("users", "user")):
        facts.users.append(
            BackupUser(
                id=_int_attr(user, "id") or 0,
                username=bx.text(user, "username") or "",
                email=bx.text(user, "email"),
                auth=bx.text(user, "auth"),
                idnumber=bx.text(user, "idnumber"),
                firstname=bx.text(user, "firstname"),
                lastname=bx.text(user, "lastname"),
                firstaccess=bx.integer(user, "firstaccess"),
                deleted=bx.integer(user, "deleted") == 1,
                mnethosturl=bx.text(user, "mnethosturl"),
            )
        )


def _questions(facts: BackupFacts, name: str, stream: MemberStream) -> None:
    for path, question in facts.records(stream, name, _LEGACY_QUESTION, _QUESTION_4X):
        facts.bank_format = "4.x" if path == _QUESTION_4X else "legacy"
        qtype = bx.text(question, "qtype") or "unknown"
        facts.question_types[qtype] += 1
        if qtype == "random":
            facts.random_questions.add(_int_attr(question, "id") or 0)


def _files(facts: BackupFacts, name: str, stream: MemberStream) -> None:
    for _, entry in facts.records(stream, name, ("files", "file")):
        filename = bx.text(entry, "filename") or ""
        if filename == ".":
            continue  # directory records carry no body
        size = bx.integer(entry, "filesize") or 0
        facts.declared_files += 1
        facts.declared_bytes += size
        if size:
            facts.declared_hashes.add(bx.text(entry, "contenthash") or "")
        area = (bx.text(entry, "component") or "", bx.text(entry, "filearea") or "")
        if area in _H5P_AREAS or filename.lower().endswith(".h5p"):
            facts.h5p_files.append(
                DeclaredFile(
                    bx.integer(entry, "contextid"),
                    area[0],
                    area[1],
                    bx.text(entry, "filepath") or "/",
                    filename,
                    size,
                )
            )


def _archive_index(facts: BackupFacts, _: str, stream: MemberStream) -> None:
    # kept only to say whether it disagrees with the real content; never used to read
    limit = facts.limits.max_xml_document_bytes
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        return  # an index this large is not Moodle's; nothing relies on it anyway
    lines = iter(raw.decode("utf-8", "replace").splitlines())
    match = re.search(r"Count: (\d+)", next(lines, ""))
    facts.index_entries = int(match.group(1)) if match else None
    facts.index_files = {}
    for line in lines:
        parts = line.split("\t")
        if len(parts) == 4 and parts[1] == "f" and parts[2].isdigit():
            facts.index_files[parts[0]] = int(parts[2])


def _activity_member(
    facts: BackupFacts, name: str, stream: MemberStream, match: re.Match[str]
) -> None:
    modname, cmid, leaf = match.group(1), int(match.group(2)), match.group(3)
    if leaf == "module":
        module = facts.document(stream, name, "module")
        facts.module_versions[cmid] = _int_attr(module, "version") or 0
    elif leaf == modname:
        # every module's own document may carry rich text (intro, page content, label...)
        scanned = facts.scanned(stream, name)
        if modname in _ACTIVITY_READERS:
            _ACTIVITY_READERS[modname](facts, name, scanned, cmid)
        facts.embedded(scanned, cmid=cmid)


def _quiz(facts: BackupFacts, name: str, stream: bx.Readable, cmid: int) -> None:
    path = ("activity", "quiz", "question_instances", "question_instance")
    slots = facts.quiz_slots.setdefault(cmid, [])
    for _, instance in facts.records(stream, name, path):
        # <question> before Moodle 2.7 (MDL-43670), <questionid> after, a reference in 4.x
        question_id = bx.integer(instance, "questionid") or bx.integer(instance, "question")
        if question_id is not None:
            slots.append(question_id)


def _lti(facts: BackupFacts, name: str, stream: bx.Readable, cmid: int) -> None:
    lti = facts.document(stream, name, "activity").find("lti")
    if lti is None:
        return
    tool_element = lti.find("ltitype")
    tool = (
        None
        if tool_element is None
        else {
            "name": bx.text(tool_element, "name"),
            "baseurl": bx.text(tool_element, "baseurl"),
            "course": bx.text(tool_element, "course"),
        }
    )
    facts.lti[cmid] = LtiRecord(
        bx.text(lti, "name") or "", bx.integer(lti, "typeid"), bx.text(lti, "toolurl"), tool
    )


def _hvp(facts: BackupFacts, name: str, stream: bx.Readable, cmid: int) -> None:
    activity = facts.document(stream, name, "activity")
    facts.module_contexts[_int_attr(activity, "contextid") or 0] = cmid
    hvp = activity.find("hvp")
    facts.hvp_machine_names[cmid] = "" if hvp is None else bx.text(hvp, "machine_name") or ""


def _h5pactivity(facts: BackupFacts, name: str, stream: bx.Readable, cmid: int) -> None:
    activity = facts.document(stream, name, "activity")
    facts.module_contexts[_int_attr(activity, "contextid") or 0] = cmid


def _int_attr(element: Element, name: str) -> int | None:
    return _int_attr_of(element.attrib, name)


def _int_attr_of(attributes: dict[str, str], name: str) -> int | None:
    value = attributes.get(name)
    return int(value) if value and value.isdigit() else None


_FIXED = {
    "moodle_backup.xml": _manifest,
    "course/course.xml": _course,
    "course/enrolments.xml": _enrolments,
    "users.xml": _users,
    "questions.xml": _questions,
    "files.xml": _files,
    ".ARCHIVE_INDEX": _archive_index,
}
_ACTIVITY_READERS = {"quiz": _quiz, "lti": _lti, "hvp": _hvp, "h5pactivity": _h5pactivity}
