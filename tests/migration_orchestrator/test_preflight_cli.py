"""`fusion backup analyse FILE [--json]` for support staff."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from fusion.testing.paths import MBZ_FIXTURES
from services.migration_orchestrator.preflight.cli import main

Build = Callable[..., Path]


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_summary_is_bilingual_and_names_the_course() -> None:
    fixture = MBZ_FIXTURES / "question_attempts_missing_users.mbz"
    status, text = _run("backup", "analyse", str(fixture))
    assert status == 0
    assert "Cours / Course : CS01 — Course 01 (id 2)" in text
    assert "Utilisateurs / Users : 2" in text
    assert "Inscriptions / Enrolments : manual, guest, self" in text
    assert "Restauration possible / Restore can proceed" in text


def test_blocking_findings_give_exit_status_1(build_backup: Build) -> None:
    status, text = _run("analyse", str(build_backup()))
    assert status == 1
    assert (
        "[X] quiz.shared_random_question: 2 emplacements de question des tests « Test 1 », "
        "« Test 2 » utilisent la même question aléatoire (id 70)"
    ) in text
    assert "BLOQUANT / BLOCKING" in text


def test_json_is_the_report(build_backup: Build) -> None:
    status, text = _run("analyse", str(build_backup()), "--json", "--target-release", "4.2.1")
    assert status == 0
    report = json.loads(text)
    assert report["meta_links"] == [{"enrol_id": 3, "source_course_id": 777, "group_id": None}]


def test_refused_file_gives_exit_status_2(tmp_path: Path) -> None:
    path = tmp_path / "notes.mbz"
    path.write_text("pas une sauvegarde")
    status, text = _run("analyse", str(path))
    assert status == 2
    assert "backup_not_an_archive" in text
    assert "n'est pas une archive" in text


def test_missing_file_gives_exit_status_2(tmp_path: Path) -> None:
    status, text = _run("analyse", str(tmp_path / "absent.mbz"))
    assert status == 2
    assert "absent.mbz" in text
