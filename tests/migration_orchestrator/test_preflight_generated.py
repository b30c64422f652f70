"""Generated backups in the real format: LTI, H5P, shared random questions, meta links, users."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from services.migration_orchestrator.preflight.findings import target_has_random_fix
from services.migration_orchestrator.preflight.report import BackupReport
from sim.mbz import ActivitySpec, BackupSpec, SiteSpec, UserSpec, content_hash
from sim.mbz.spec import FileSpec

Analyse = Callable[..., BackupReport]
Build = Callable[..., Path]
Spec = Callable[..., BackupSpec]


def _finding(report: BackupReport, code: str) -> list[tuple[str, str | None]]:
    return [(f.severity, f.subject) for f in report.findings if f.code == code]


@pytest.mark.parametrize("container", ["tar.gz", "zip"])
def test_both_containers_give_the_same_report(
    build_backup: Build, analyse: Analyse, container: str
) -> None:
    report = analyse(build_backup(container=container))
    assert report.archive.container == container
    assert report.course.shortname == "CHIM101"
    assert report.activities_by_type == {
        "quiz": 2,
        "lti": 2,
        "hvp": 1,
        "h5pactivity": 1,
        "forum": 1,
    }
    assert [(s.number, s.title) for s in report.sections] == [(0, "0"), (1, "Semaine 1")]
    assert report.files.declared == 2
    assert report.files.bodies == 2
    assert report.files.declared_bytes == report.files.body_bytes == 420_000


def test_two_quizzes_sharing_a_random_question_block_the_restore(
    build_backup: Build, analyse: Analyse
) -> None:
    report = analyse(build_backup())
    assert [
        (s.question_id, s.quiz_cmids, s.quiz_titles, s.slots)
        for s in report.shared_random_questions
    ] == [(70, [11, 12], ["Test 1", "Test 2"], 2)]
    assert _finding(report, "quiz.shared_random_question") == [("blocking", "question:70")]
    assert report.blocking
    shared = next(f for f in report.findings if f.code == "quiz.shared_random_question")
    assert "MDL-75696" in shared.message
    assert "MDL-75696" in shared.message_fr


@pytest.mark.parametrize(
    ("release", "severity"),
    [
        ("4.1.3", "blocking"),
        ("4.1.13", "warning"),
        ("4.2.0", "blocking"),
        ("4.2.1", "warning"),
        ("4.0.12", "blocking"),
        ("4.5", "warning"),
        ("3.11.7", "warning"),
        (None, "blocking"),
    ],
)
def test_the_target_release_decides_if_a_shared_random_question_blocks(
    build_backup: Build, analyse: Analyse, release: str | None, severity: str
) -> None:
    report = analyse(build_backup(), target_release=release)
    assert _finding(report, "quiz.shared_random_question") == [(severity, "question:70")]
    assert report.blocking is (severity == "blocking")


def test_unknown_target_release_text_counts_as_unknown() -> None:
    assert target_has_random_fix("latest") is None


def test_quizzes_of_a_4x_backup_are_never_converted_so_never_flagged(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    spec = course_spec()
    modern = tuple(
        ActivitySpec(
            cmid=a.cmid,
            modname=a.modname,
            title=a.title,
            section_id=a.section_id,
            slots=a.slots,
            module_version=2022112800,
        )
        for a in spec.activities
        if a.modname == "quiz"
    )
    report = analyse(build_backup(course_spec(activities=modern)))
    assert report.shared_random_questions == []
    assert not report.blocking


def test_one_random_question_in_two_slots_of_one_quiz_is_flagged_too(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    quiz = ActivitySpec(cmid=11, modname="quiz", title="Test", section_id=1, slots=(70, 70))
    report = analyse(build_backup(course_spec(activities=(quiz,))))
    assert [(s.quiz_cmids, s.slots) for s in report.shared_random_questions] == [([11], 2)]


def test_a_random_question_used_by_one_quiz_only_is_fine(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    quizzes = (
        ActivitySpec(cmid=11, modname="quiz", title="Test", section_id=1, slots=(70,)),
        ActivitySpec(cmid=12, modname="quiz", title="Test", section_id=1, slots=(71,)),
    )
    report = analyse(build_backup(course_spec(activities=quizzes)))
    assert report.shared_random_questions == []


def test_lti_site_tools_arrive_unbound_and_course_tools_come_along(
    build_backup: Build, analyse: Analyse
) -> None:
    report = analyse(build_backup())
    assert [
        (i.cmid, i.tool_name, i.site_tool, i.arrives_unbound, i.tool_baseurl) for i in report.lti
    ] == [
        (13, "Wooclap (site)", True, True, None),
        (14, "Labo", False, False, "https://labo.example.test/lti"),
    ]
    assert _finding(report, "lti.site_tool_unbound") == [("warning", "cmid:13")]
    assert _finding(report, "lti.external_tool") == [("info", "cmid:14")]


def test_h5p_activities_are_listed_with_their_package_sizes(
    build_backup: Build, analyse: Analyse
) -> None:
    report = analyse(build_backup())
    assert [(i.kind, i.cmid, i.machine_name, i.package_bytes) for i in report.h5p] == [
        ("hvp", 15, "H5P.InteractiveVideo", 300_000),
        ("h5pactivity", 16, None, 120_000),
    ]
    assert _finding(report, "h5p.hvp_plugin_required") == [("warning", "cmid:15")]
    assert _finding(report, "h5p.content") == [("info", None)]


def test_content_bank_h5p_is_counted(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    bank = (
        FileSpec(
            filename="quiz.h5p", component="contentbank", filearea="public", size=5_000, seed=3
        ),
    )
    report = analyse(build_backup(course_spec(course_files=bank)))
    assert ("contentbank", None, 5_000) in [(i.kind, i.cmid, i.package_bytes) for i in report.h5p]


def test_meta_links_name_the_source_course(build_backup: Build, analyse: Analyse) -> None:
    report = analyse(build_backup())
    assert [(m.enrol_id, m.source_course_id) for m in report.meta_links] == [(3, 777)]
    assert [(m.method, m.enabled) for m in report.enrolment_methods] == [
        ("manual", True),
        ("self", False),
        ("meta", True),
    ]
    assert _finding(report, "enrol.meta_link") == [("warning", "course:777")]


def test_five_thousand_users_are_all_listed_for_restore_check(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    users = tuple(
        UserSpec(
            id=n,
            username=f"2190{n:04d}",
            email=f"etu{n}@u-bordeaux.fr",
            firstname="Prénom",
            lastname=f"Nom{n}",
            idnumber=f"2190{n:04d}",
            firstaccess=1_600_000_000 + n,
        )
        for n in range(1, 5001)
    )
    report = analyse(build_backup(course_spec(users=users)))
    assert report.users.count == 5000
    assert report.users.items[0].username == "21900001"
    assert report.users.items[-1].model_dump() == {
        "id": 5000,
        "username": "21905000",
        "email": "etu5000@u-bordeaux.fr",
        "auth": "manual",
        "idnumber": "21905000",
        "firstname": "Prénom",
        "lastname": "Nom5000",
        "firstaccess": 1_600_005_000,
        "deleted": False,
        "mnethosturl": None,
    }


def test_the_admin_account_in_a_backup_is_a_known_conflict(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    admin = UserSpec(id=2, username="admin", email="admin@x.test", firstname="A", lastname="D")
    report = analyse(build_backup(course_spec(users=(admin,))))
    assert _finding(report, "users.admin_account") == [("warning", "username:admin")]


def test_version_and_release_of_the_source_site(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    site = SiteSpec(
        moodle_version="2022112813",
        moodle_release="4.1.13 (Build: 20240916)",
        backup_version="2022112800",
        backup_release="4.1",
    )
    report = analyse(build_backup(course_spec(site=site)))
    assert (report.moodle.version, report.moodle.backup_release) == ("2022112813", "4.1")


def test_a_file_listed_but_absent_is_reported(
    build_backup: Build, analyse: Analyse, tmp_path: Path
) -> None:
    source = build_backup()
    hvp_body = content_hash(
        FileSpec(
            filename="video.mp4", component="mod_hvp", filearea="content", size=300_000, seed=1
        )
    )
    trimmed = tmp_path / "trimmed.mbz"
    with tarfile.open(source) as src, tarfile.open(trimmed, "w:gz") as dst:
        for info in src:
            if not info.name.endswith(hvp_body):
                dst.addfile(info, src.extractfile(info) if info.isreg() else None)
    report = analyse(trimmed)
    assert _finding(report, "files.missing") == [("warning", None)]
    assert _finding(report, "archive.index_mismatch") == [("info", None)]


def test_a_4x_question_bank_is_recognised(
    build_backup: Build, analyse: Analyse, course_spec: Spec
) -> None:
    site = SiteSpec(
        moodle_version="2022112813",
        moodle_release="4.1.13 (Build: 20240916)",
        backup_version="2022112800",
        backup_release="4.1",
    )
    spec = course_spec(site=site)
    modern = tuple(
        ActivitySpec(
            cmid=a.cmid,
            modname=a.modname,
            title=a.title,
            section_id=a.section_id,
            slots=a.slots,
            module_version=2022112800,
        )
        for a in spec.activities
    )
    report = analyse(build_backup(course_spec(site=site, activities=modern)))
    assert report.questions.bank_format == "4.x"
    assert report.questions.by_type == {"random": 1, "truefalse": 1, "multichoice": 1}
    assert "questions.legacy_bank" not in {f.code for f in report.findings}
    assert not report.blocking


def test_the_builder_lays_files_out_as_moodle_does(build_backup: Build, analyse: Analyse) -> None:
    path = build_backup()
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert names[0] == ".ARCHIVE_INDEX"
    assert {
        "moodle_backup.xml",
        "users.xml",
        "questions.xml",
        "files.xml",
        "gradebook.xml",
        "course/course.xml",
        "course/enrolments.xml",
        "sections/section_2/section.xml",
        "activities/quiz_11/module.xml",
        "activities/quiz_11/quiz.xml",
        "activities/lti_13/lti.xml",
        "activities/hvp_15/hvp.xml",
        "activities/hvp_libraries.xml",
        "activities/h5pactivity_16/h5pactivity.xml",
    } <= set(names)
    assert sum(name.startswith("files/") and name.count("/") == 2 for name in names) == 2
    # the generated index is exact, unlike the hand-trimmed fixture's
    assert "archive.index_mismatch" not in {f.code for f in analyse(path).findings}
