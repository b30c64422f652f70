from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.identity.cli import main
from sim.moodle.app import create_sim_app
from sim.moodle.state import SimMoodle

from .conftest import identity_settings, mdl_user_csv
from .test_plans import DIRECTORY, seed_drift


def _run(sim: SimMoodle, tmp_path: Path, *argv: str) -> int:
    settings = identity_settings(f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    transport = httpx.ASGITransport(app=create_sim_app(sim))
    return main(list(argv), settings=settings, moodle_transport=transport)


def test_import_then_plan_compute_apply_and_revert_from_the_command_line(
    sim: SimMoodle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_drift(sim)
    directory = tmp_path / "people.ldif"
    directory.write_text(DIRECTORY)
    assert _run(sim, tmp_path, "import", "file", str(directory), "--source", "ldif") == 0
    assert _run(sim, tmp_path, "import", "moodle", "--platform", "target") == 0
    assert "created" in capsys.readouterr().out
    assert _run(sim, tmp_path, "plan", "compute", "--platform", "target") == 0
    shown = capsys.readouterr().out
    assert "plan 1 on target" in shown
    assert "anne.moreau@u-bordeaux.fr" in shown
    assert _run(sim, tmp_path, "plan", "apply", "1") == 0
    assert "plan 1: applied" in capsys.readouterr().out
    assert sim["target"].users[22].email == "anne.moreau@u-bordeaux.fr"
    assert _run(sim, tmp_path, "plan", "revert", "1") == 0
    assert sim["target"].users[22].email == "bruno.durand@u-bordeaux.fr"


def test_a_bad_file_exits_2_with_the_french_message_first(
    sim: SimMoodle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "users.csv"
    bad.write_bytes(mdl_user_csv(sim["ub1"]).replace(b"username", b"login"))
    code = _run(
        sim, tmp_path, "import", "file", str(bad), "--source", "moodle_csv", "--platform", "ub1"
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("Ligne 1 : colonne(s) absente(s) username")


def test_an_unknown_platform_exits_2(sim: SimMoodle, tmp_path: Path) -> None:
    assert _run(sim, tmp_path, "plan", "compute", "--platform", "nowhere") == 2
