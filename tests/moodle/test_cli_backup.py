"""backup.php: the stand-in replays the recorded runs (09) and the runner parses its output."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fusion.moodle import (
    CliTemplates,
    MoodleCliCourseNotFound,
    MoodleCliDestinationUnwritable,
    MoodleCliRunner,
)
from fusion.testing.paths import MOODLE_GOLDEN
from fusion.testing.serving import serving
from sim.moodle.app import create_sim_app
from sim.moodle.state import SimMoodle

RUNS = json.loads((MOODLE_GOLDEN / "09_cli_backup.json").read_text())["runs"]
_STAMP = re.compile(r"\d{8}-\d{4}\.mbz")


@pytest.fixture
async def sim_url(sim: SimMoodle) -> AsyncIterator[str]:
    async with serving(create_sim_app(sim)) as url:
        yield url


def stand_in(sim_url: str, module: str) -> str:
    return f"{shlex.quote(sys.executable)} -m {module} --sim-url={sim_url} --platform=golden"


def _places(tmp_path: Path) -> dict[str, str]:
    backups = tmp_path / "backups"
    backups.mkdir()
    regular = tmp_path / "regular-file"
    regular.write_text("not a directory")
    return {
        "<backupdir>": str(backups),
        "<nonexistent-dir>": str(tmp_path / "missing"),
        "<path-of-an-existing-regular-file>": str(regular),
    }


@pytest.mark.parametrize("run", RUNS, ids=[r["name"] for r in RUNS])
async def test_stand_in_gives_the_recorded_output_and_exit_code(
    run: dict[str, Any], sim_url: str, tmp_path: Path
) -> None:
    places = _places(tmp_path)
    command = run["command"].replace(
        "php admin/cli/backup.php", stand_in(sim_url, "sim.moodle.cli_backup")
    )
    for placeholder, path in places.items():
        command = command.replace(placeholder, path)
    runner = MoodleCliRunner(
        templates=CliTemplates(
            backup="true {courseid} {destination}", restore="true {file} {categoryid}"
        )
    )
    result = await runner.run(shlex.split(command))
    stdout = result.stdout.rstrip("\n")
    for placeholder, path in places.items():
        stdout = stdout.replace(path, placeholder)
    assert (result.exit_code, _STAMP.sub("X.mbz", stdout)) == (
        run["exit_code"],
        _STAMP.sub("X.mbz", run["stdout"]),
    )
    written = sorted(p.name for p in os.scandir(places["<backupdir>"]))
    expected = run.get("files_created_in_destination", written)
    assert [_STAMP.sub("X.mbz", n) for n in written] == [_STAMP.sub("X.mbz", n) for n in expected]


def _members(path: Path) -> list[str]:
    with tarfile.open(path) as archive:
        return archive.getnames()


async def test_runner_backs_up_a_course_to_a_readable_mbz(sim_url: str, tmp_path: Path) -> None:
    module = stand_in(sim_url, "sim.moodle.cli_backup")
    runner = MoodleCliRunner(
        templates=CliTemplates(
            backup=f"{module} --courseid={{courseid}} --destination={{destination}}",
            restore=f"{module} --file={{file}} --categoryid={{categoryid}}",
        )
    )
    done = await runner.backup(courseid=2, destination=tmp_path)
    assert done.path.parent == tmp_path
    assert done.path.name.startswith("backup-moodle2-course-2-gold101-")
    members = _members(done.path)
    assert {"moodle_backup.xml", "users.xml", "course/enrolments.xml"} <= set(members)
    assert "Backup completed." in done.run.stdout
    with pytest.raises(MoodleCliDestinationUnwritable) as unwritable:
        await runner.backup(courseid=2, destination=tmp_path / "missing")
    assert unwritable.value.run.exit_code == 0  # printed with exit 0: parsed, not trusted
    with pytest.raises(MoodleCliCourseNotFound):
        await runner.backup(courseid=99999, destination=tmp_path)
