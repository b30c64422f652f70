"""The facts of every real Moodle backup in shared/fixtures/mbz/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fusion.testing.paths import MBZ_FIXTURES
from services.migration_orchestrator.preflight.report import BackupReport

Analyse = Callable[..., BackupReport]


def _codes(report: BackupReport) -> set[str]:
    return {f.code for f in report.findings}


def test_every_fixture_is_covered() -> None:
    assert {p.name for p in MBZ_FIXTURES.glob("*.mbz")} == {
        "moodle_28_quiz.mbz",
        "moodle_311_quiz.mbz",
        "question_attempts_missing_users.mbz",
        "backup-moodle2-course-with-studentquiz-m311.mbz",
    }


def test_moodle_28_zip_activity_backup(analyse: Analyse) -> None:
    report = analyse(MBZ_FIXTURES / "moodle_28_quiz.mbz")
    assert report.archive.container == "zip"
    assert (report.moodle.version, report.moodle.release) == (
        "2014111005.02",
        "2.8.5+ (Build: 20150319)",
    )
    assert report.backup_type == "activity"
    assert [(a.cmid, a.modname, a.title, a.module_version) for a in report.activities] == [
        (4, "quiz", "Restored Moodle 2.8 quiz", 2014111000)
    ]
    assert report.questions.by_type == {"truefalse": 2}
    assert report.questions.bank_format == "legacy"
    assert report.shared_random_questions == []
    assert not report.users.included
    assert report.users.count == 0
    assert report.enrolment_methods == []
    assert report.archive.index_entries is None  # ZIP backups carry no .ARCHIVE_INDEX
    assert "backup.not_a_course" in _codes(report)
    assert not report.blocking


def test_moodle_311_random_by_tag_questions_are_not_shared(analyse: Analyse) -> None:
    report = analyse(MBZ_FIXTURES / "moodle_311_quiz.mbz")
    assert report.archive.container == "tar.gz"
    assert report.moodle.release == "3.11.6+ (Build: 20220401)"
    assert report.backup_type == "activity"
    assert report.activities_by_type == {"quiz": 1}
    assert report.questions.random == 3
    assert report.questions.by_type == {"truefalse": 2, "random": 3}
    # three random questions, one slot each: the MDL-75696 case needs one used twice
    assert report.shared_random_questions == []
    assert not report.users.included
    assert not report.blocking


def test_moodle_310_course_with_users_and_enrolments(analyse: Analyse) -> None:
    report = analyse(MBZ_FIXTURES / "question_attempts_missing_users.mbz")
    assert report.moodle.version == "2020110907.08"
    assert report.backup_type == "course"
    assert (report.course.id, report.course.shortname, report.course.fullname) == (
        2,
        "CS01",
        "Course 01",
    )
    assert [(s.id, s.number) for s in report.sections] == [(1, 0)]
    assert report.activities_by_type == {"quiz": 1}
    assert [(u.id, u.username, u.email, u.firstaccess) for u in report.users.items] == [
        (3, "user01", "user01@example.com", 1634751270),
        (6, "user04", "user04@example.com", 1634751339),
    ]
    assert [(m.method, m.enabled, m.user_enrolments) for m in report.enrolment_methods] == [
        ("manual", True, 4),
        ("guest", False, 0),
        ("self", False, 0),
    ]
    assert report.meta_links == []
    # the index was trimmed by hand with users.xml: it is reported, never believed
    assert report.archive.index_entries == 45
    assert "archive.index_mismatch" in _codes(report)
    assert not report.blocking


def test_moodle_311_course_with_studentquiz(analyse: Analyse) -> None:
    report = analyse(MBZ_FIXTURES / "backup-moodle2-course-with-studentquiz-m311.mbz")
    assert report.moodle.release == "3.11.7 (Build: 20220509)"
    assert report.course.fullname == "Course Three"
    assert [s.number for s in report.sections] == [0, 1, 2, 3, 4]
    assert [(a.cmid, a.modname, a.title) for a in report.activities] == [
        (24, "studentquiz", "StudentQuiz 1")
    ]
    assert [u.username for u in report.users.items] == ["teacher"]
    assert [m.method for m in report.enrolment_methods] == ["manual", "guest", "self"]
    assert report.files.declared == 0
    assert "archive.index_mismatch" not in _codes(report)


@pytest.mark.parametrize("path", sorted(MBZ_FIXTURES.glob("*.mbz")), ids=lambda p: p.name)
def test_analysis_reads_every_member_and_leaves_the_file_alone(
    analyse: Analyse, path: Path
) -> None:
    before = path.read_bytes()
    report = analyse(path)
    assert path.read_bytes() == before
    assert report.archive.compressed_bytes == len(before)
    assert report.archive.uncompressed_bytes > report.archive.compressed_bytes
