"""Pre-flight analysis of a Moodle backup: one streaming pass, then a typed report.

Usable from the API, the CLI and workers: `analyse_backup(file, limits=..., target_release=...)`.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import IO

from services.migration_orchestrator.preflight import findings as rules
from services.migration_orchestrator.preflight.archive import ArchiveLimits, ArchiveReader
from services.migration_orchestrator.preflight.errors import NotAMoodleBackup
from services.migration_orchestrator.preflight.facts import BackupFacts, DeclaredFile
from services.migration_orchestrator.preflight.report import (
    ActivityFacts,
    ArchiveFacts,
    BackupReport,
    FileFacts,
    H5pItem,
    LtiActivity,
    MetaLink,
    QuestionFacts,
    SectionFacts,
    SharedRandomQuestion,
    UserFacts,
)
from services.migration_orchestrator.preflight.rich_text import Embedding

SITE_COURSE_ID = 1
QUIZ_REFERENCES_VERSION = 2022020300  # quiz.xml written with question references (4.0+)


def analyse_backup(
    source: IO[bytes],
    *,
    limits: ArchiveLimits,
    target_release: str | None = None,
    abandoned: threading.Event | None = None,
) -> BackupReport:
    """Read `source` (seekable, positioned at 0) once; raise a `BackupRejected` on hostile or
    broken input, otherwise report. The file itself is never modified. Setting `abandoned`
    (the client went away) stops the reading at the next chunk."""
    reader = ArchiveReader(source, limits=limits, abandoned=abandoned)
    facts = BackupFacts(limits=limits)
    for member in reader.members():
        facts.add(member.name, member.stream)
        member.stream.drain()
        facts.seen(member.name, member.stream.read_bytes)
    facts.finish_index()
    if not facts.manifest_seen or facts.backup_format not in (None, "moodle2"):
        raise NotAMoodleBackup(
            "This archive is not a Moodle 2+ backup (no usable moodle_backup.xml).",
            message_fr="Cette archive n'est pas une sauvegarde Moodle 2+ (pas de "
            "moodle_backup.xml exploitable).",
        )
    return _report(facts, reader, target_release=target_release)


def _report(
    facts: BackupFacts, reader: ArchiveReader, *, target_release: str | None
) -> BackupReport:
    stats = reader.stats
    activities = [
        a.model_copy(update={"module_version": facts.module_versions.get(a.cmid)})
        for a in facts.activities
    ]
    shared = _shared_random(facts)
    lti, h5p, meta = _lti(facts), _h5p(facts, activities), _meta_links(facts)
    users_included = bool(facts.users)
    missing = len(facts.declared_hashes - facts.bodies)
    findings = [
        *rules.shared_random(shared, fixed=rules.target_has_random_fix(target_release)),
        *rules.lti(lti),
        *rules.h5p(h5p),
        *rules.h5p_missing(h5p, places=_places(facts)),
        *rules.meta_links(meta),
        *rules.users(facts.users, included=users_included),
        *rules.archive(index_disagreements=facts.index_disagreements, missing_bodies=missing),
        *rules.backup_kind(facts.backup_type, facts.bank_format),
    ]
    assert facts.moodle is not None  # guaranteed by manifest_seen
    return BackupReport(
        archive=ArchiveFacts(
            container=stats.container,
            members=stats.members,
            compressed_bytes=stats.compressed_bytes,
            uncompressed_bytes=stats.uncompressed_bytes,
            index_entries=facts.index_entries,
        ),
        moodle=facts.moodle,
        backup_type=facts.backup_type,
        course=facts.course,
        sections=[
            SectionFacts(id=s.id, number=facts.section_numbers.get(s.id), title=s.title)
            for s in facts.sections
        ],
        activities=activities,
        activities_by_type=dict(Counter(a.modname for a in activities)),
        lti=lti,
        h5p=h5p,
        questions=QuestionFacts(
            bank_format=facts.bank_format,
            total=sum(facts.question_types.values()),
            by_type=dict(facts.question_types),
            random=facts.question_types.get("random", 0),
        ),
        shared_random_questions=shared,
        meta_links=meta,
        enrolment_methods=facts.enrolments,
        users=UserFacts(included=users_included, count=len(facts.users), items=facts.users),
        files=FileFacts(
            declared=facts.declared_files,
            declared_bytes=facts.declared_bytes,
            bodies=len(facts.bodies),
            body_bytes=facts.body_bytes,
        ),
        findings=findings,
        blocking=any(f.severity == "blocking" for f in findings),
    )


def _places(facts: BackupFacts) -> dict[str, str]:
    """What a teacher calls each place rich text sits in, keyed like finding subjects."""
    places = {f"cmid:{a.cmid}": a.title for a in facts.activities}
    for section in facts.sections:
        number = facts.section_numbers.get(section.id)
        places[f"section:{section.id}"] = section.title or f"section {number}"
    return places


def _shared_random(facts: BackupFacts) -> list[SharedRandomQuestion]:
    """MDL-75696: one legacy random question used by several quiz slots of the backup."""
    users: dict[int, list[int]] = defaultdict(list)
    for cmid, slots in facts.quiz_slots.items():
        if facts.module_versions.get(cmid, 0) >= QUIZ_REFERENCES_VERSION:
            continue  # 4.x quizzes carry references, not legacy slots: nothing is converted
        for question_id in slots:
            if question_id in facts.random_questions:
                users[question_id].append(cmid)
    titles = {a.cmid: a.title for a in facts.activities}
    return [
        SharedRandomQuestion(
            question_id=qid,
            quiz_cmids=sorted(set(cmids)),
            quiz_titles=[titles.get(c, str(c)) for c in sorted(set(cmids))],
            slots=len(cmids),
        )
        for qid, cmids in sorted(users.items())
        if len(cmids) > 1
    ]


def _lti(facts: BackupFacts) -> list[LtiActivity]:
    items = []
    for cmid, record in sorted(facts.lti.items()):
        tool = record.tool or {}
        raw_course = tool.get("course") or ""
        course = int(raw_course) if raw_course.isdigit() else None
        site_tool = course == SITE_COURSE_ID
        items.append(
            LtiActivity(
                cmid=cmid,
                title=record.title,
                typeid=record.typeid,
                toolurl=record.toolurl,
                tool_name=tool.get("name"),
                tool_baseurl=tool.get("baseurl"),
                tool_course=course,
                site_tool=site_tool,
                arrives_unbound=site_tool and bool(record.typeid),
            )
        )
    return items


def _h5p(facts: BackupFacts, activities: list[ActivityFacts]) -> list[H5pItem]:
    by_context: dict[int | None, int] = defaultdict(int)
    for file in facts.h5p_files:
        if file.component in ("mod_h5pactivity", "mod_hvp"):
            by_context[file.contextid] += file.size
    sizes = {cmid: by_context.get(ctx, 0) for ctx, cmid in facts.module_contexts.items()}
    items = [
        H5pItem(
            kind=a.modname,
            cmid=a.cmid,
            title=a.title,
            machine_name=facts.hvp_machine_names.get(a.cmid),
            package_bytes=sizes.get(a.cmid, 0),
        )
        for a in activities
        if a.modname in ("h5pactivity", "hvp")
    ]
    html, referenced = _h5p_in_html(facts)
    items += [
        H5pItem(
            kind="contentbank" if f.component == "contentbank" else "embedded",
            cmid=None,
            title=f.filename,
            package_bytes=f.size,
        )
        for f in facts.h5p_files
        if f.component not in ("mod_h5pactivity", "mod_hvp") and id(f) not in referenced
    ]
    return items + html


def _h5p_in_html(facts: BackupFacts) -> tuple[list[H5pItem], set[int]]:
    """Packages referenced from rich text, and the files.xml entries they point to (by id, so
    that the same package is not counted again as a loose `.h5p` file)."""
    items, referenced = [], set()
    for embedding in facts.h5p_embeddings:
        file = next((f for f in facts.h5p_files if _points_to(embedding, f)), None)
        if file is not None:
            referenced.add(id(file))
        ref = embedding.reference
        items.append(
            H5pItem(
                kind="html",
                cmid=embedding.cmid,
                section_id=embedding.section_id,
                title=ref.filename,
                field=ref.field,
                reference=ref.reference,
                present=file is not None,
                package_bytes=file.size if file else 0,
            )
        )
    return items, referenced


def _points_to(embedding: Embedding, file: DeclaredFile) -> bool:
    ref = embedding.reference
    if (file.filename, file.filepath) != (ref.filename, ref.filepath):
        return False
    if ref.contextid is not None:  # an absolute pluginfile.php link names its own area
        return (file.contextid, file.component) == (ref.contextid, ref.component)
    if embedding.section_id is not None:  # @@PLUGINFILE@@ of a section summary
        return (file.component, file.filearea) == ("course", "section")
    return file.contextid == embedding.contextid


def _meta_links(facts: BackupFacts) -> list[MetaLink]:
    return [
        MetaLink(enrol_id=enrol_id, source_course_id=target[0], group_id=target[1])
        for enrol_id, target in sorted(facts.meta_targets.items())
    ]
