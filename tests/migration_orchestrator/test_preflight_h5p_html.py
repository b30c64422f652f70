"""H5P packages embedded in rich text: found while streaming, placed, checked against files.xml."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from services.migration_orchestrator.preflight.bounded_xml import XmlBounds
from services.migration_orchestrator.preflight.errors import UnsafeXml
from services.migration_orchestrator.preflight.report import BackupReport, H5pItem
from services.migration_orchestrator.preflight.rich_text import RichTextScanner, find_references
from sim.mbz import ActivitySpec, BackupSpec, FileSpec, SectionSpec

BOUNDS = XmlBounds(max_depth=64, max_token_bytes=1 << 20, max_record_bytes=32 << 20)

Analyse = Callable[..., BackupReport]
Build = Callable[..., Path]
Spec = Callable[..., BackupSpec]

PLACEHOLDER = (
    '<p>Avant</p><div class="h5p-placeholder" contenteditable="false">@@PLUGINFILE@@/quiz.h5p</div>'
)
IFRAME = (
    '<iframe src="$@H5PEMBED@$?url=%40%40PLUGINFILE%40%40%2Fquiz.h5p&amp;component=mod_page"'
    ' width="500" class="h5p-iframe"></iframe>'
)
ELSEWHERE = (
    '<iframe src="https://moodle.u-bordeaux.fr/h5p/embed.php?url=https%3A%2F%2Fmoodle.'
    'u-bordeaux.fr%2Fpluginfile.php%2F9999%2Fmod_page%2Fcontent%2F0%2Fautre.h5p"></iframe>'
)


def with_intro(path: Path, member: str, html: str) -> Path:
    """The builder writes empty intros: put `html` in one, keeping `.ARCHIVE_INDEX` truthful."""
    with tarfile.open(path, "r:gz") as source:
        members = [(info, source.extractfile(info)) for info in source.getmembers()]
        contents = {info.name: (f.read() if f else b"") for info, f in members}
    body = contents[member].replace(b"<intro></intro>", f"<intro>{escape(html)}</intro>".encode())
    index = (
        contents[".ARCHIVE_INDEX"]
        .decode()
        .replace(f"{member}\tf\t{len(contents[member])}\t", f"{member}\tf\t{len(body)}\t")
    )
    contents[member], contents[".ARCHIVE_INDEX"] = body, index.encode()
    out = path.with_name(f"intro-{path.name}")
    with tarfile.open(out, "w:gz") as target:
        for info, _ in members:
            data = contents[info.name]
            info.size = len(data) if info.isfile() else 0
            target.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out


def page_course(course_spec: Spec, *, summary: str = "") -> BackupSpec:
    package = FileSpec(
        filename="quiz.h5p", component="mod_page", filearea="content", size=4_000, seed=5
    )
    return course_spec(
        sections=(
            SectionSpec(id=1, number=0),
            SectionSpec(id=2, number=1, name="Semaine 1", summary=summary),
        ),
        activities=(
            ActivitySpec(cmid=20, modname="page", title="Cours 1", section_id=2, files=(package,)),
            ActivitySpec(cmid=21, modname="label", title="Étiquette", section_id=2),
        ),
    )


def html_items(report: BackupReport) -> list[H5pItem]:
    return [item for item in report.h5p if item.kind == "html"]


def missing(report: BackupReport) -> list[tuple[str, str | None]]:
    return [
        (f.severity, f.subject) for f in report.findings if f.code == "h5p.embedded_package_missing"
    ]


def test_a_placeholder_in_a_page_intro_points_to_its_own_package(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    path = with_intro(
        build_backup(page_course(course_spec)), "activities/page_20/page.xml", PLACEHOLDER + IFRAME
    )

    report = analyse(path)

    # the placeholder and the iframe name the same package: one item
    assert [
        (i.cmid, i.field, i.reference, i.present, i.package_bytes) for i in html_items(report)
    ] == [(20, "intro", "@@PLUGINFILE@@/quiz.h5p", True, 4_000)]
    # the package is described where it is used, not again as a loose .h5p file
    assert [i for i in report.h5p if i.kind == "embedded"] == []
    assert missing(report) == []
    assert report.files.declared_bytes == report.files.body_bytes
    assert not any(f.code.startswith("archive.") for f in report.findings)


def test_a_package_from_another_course_is_reported_missing(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    path = with_intro(
        build_backup(page_course(course_spec)), "activities/label_21/label.xml", ELSEWHERE
    )

    report = analyse(path)

    [item] = html_items(report)
    assert (item.cmid, item.title, item.present, item.package_bytes) == (21, "autre.h5p", False, 0)
    assert item.reference is not None
    assert item.reference.endswith("/pluginfile.php/9999/mod_page/content/0/autre.h5p")
    assert missing(report) == [("warning", "cmid:21")]
    finding = next(f for f in report.findings if f.code == "h5p.embedded_package_missing")
    assert "« Étiquette »" in finding.message_fr
    assert "autre.h5p" in finding.message_fr
    assert '"Étiquette"' in finding.message
    # the package in the page's own area is still counted once, as a loose file
    assert [(i.kind, i.title) for i in report.h5p] == [
        ("embedded", "quiz.h5p"),
        ("html", "autre.h5p"),
    ]


def test_a_section_summary_embedding_a_deleted_package(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    summary = '<div class="h5p-placeholder">@@PLUGINFILE@@/sub/supprime.h5p</div>'
    report = analyse(build_backup(page_course(course_spec, summary=summary)))

    [item] = html_items(report)
    assert (item.section_id, item.cmid, item.field, item.title) == (
        2,
        None,
        "summary",
        "supprime.h5p",
    )
    assert item.present is False
    assert missing(report) == [("warning", "section:2")]
    finding = next(f for f in report.findings if f.code == "h5p.embedded_package_missing")
    assert "« Semaine 1 »" in finding.message_fr


def test_a_section_package_present_in_its_area_is_not_missing(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    summary = '<div class="h5p-placeholder">@@PLUGINFILE@@/quiz.h5p</div>'
    spec = page_course(course_spec, summary=summary)
    page = spec.activities[0]
    # same name, but the page's area: a section's @@PLUGINFILE@@ means course/section
    assert missing(analyse(build_backup(spec))) == [("warning", "section:2")]
    moved = FileSpec(filename="quiz.h5p", component="course", filearea="section", size=10)
    label = ActivitySpec(cmid=22, modname="label", title="Porteur", section_id=2, files=(moved,))
    fixed = course_spec(sections=spec.sections, activities=(page, label))

    assert missing(analyse(build_backup(fixed))) == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (PLACEHOLDER, ["@@PLUGINFILE@@/quiz.h5p"]),
        (
            "<div class='note h5p-placeholder'> @@PLUGINFILE@@/a%20b.h5p </div>",
            ["@@PLUGINFILE@@/a b.h5p"],
        ),
        ('<iframe src="https://h5p.org/h5p/embed/617"></iframe>', []),
        ('<a href="@@PLUGINFILE@@/quiz.h5p">download</a>', []),
        (
            '<iframe src="https://x/h5p/embed.php?url=https%3A%2F%2Fh5p.example%2Fa.h5p"></iframe>',
            [],
        ),
    ],
)
def test_reference_patterns(html: str, expected: list[str]) -> None:
    assert [r.reference for r in find_references("intro", html)] == expected


def test_a_reference_cut_by_the_read_size_is_found_and_memory_stays_bounded() -> None:
    filler = "x" * (3 << 20)  # a text field larger than a scan window
    html = filler + PLACEHOLDER + filler
    document = f"<activity contextid='7'><page><content>{escape(html)}</content></page></activity>"
    scanner = RichTextScanner(member="activities/page_1/page.xml", bounds=BOUNDS)
    data = document.encode()
    for start in range(0, len(data), 4093):  # reads that cut the reference anywhere
        scanner.feed(data[start : start + 4093])
    scanner.feed(b"", final=True)

    assert [(r.field, r.filename) for r in scanner.references] == [("content", "quiz.h5p")]
    assert scanner.root_attributes == {"contextid": "7"}


def test_a_dtd_in_a_scanned_member_is_refused() -> None:
    scanner = RichTextScanner(member="activities/label_21/label.xml", bounds=BOUNDS)
    with pytest.raises(UnsafeXml):
        scanner.feed(b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', final=True)
