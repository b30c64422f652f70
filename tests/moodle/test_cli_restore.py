"""restore_backup.php through the runner: Moodle's 2D user conflict, then success."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fusion.moodle import (
    CliTemplates,
    MoodleClient,
    MoodleCliRestoreFailed,
    MoodleCliRestorePrecheckFailed,
    MoodleCliRunner,
    UserUpdate,
)
from fusion.testing.paths import MBZ_FIXTURES
from fusion.testing.serving import serving
from sim.moodle.app import create_sim_app
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle, all_functions

BACKUP = MBZ_FIXTURES / "question_attempts_missing_users.mbz"
TOKEN = "target-test-token"
# Maps Moodle's script paths to the stand-ins, so that the real-script template runs unchanged.
FAKE_PHP = """#!{python}
import runpy, sys
from pathlib import Path
modules = {{"backup.php": "sim.moodle.cli_backup", "restore_backup.php": "sim.moodle.cli_restore"}}
script = sys.argv[1]
sys.argv = [script, *sys.argv[2:]]
runpy.run_module(modules[Path(script).name], run_name="__main__")
"""


def _target(sim: SimMoodle) -> Platform:
    target = sim.add_platform("target", sitename="Merged", wwwroot="http://merged.example")
    target.add_category("Miscellaneous", id=1)
    target.add_course("merged", "Merged", 0, id=1, format="site")
    target.add_user("admin", "Admin", "User", "admin@merged.example", id=2)
    # same username as in the backup, another e-mail and another first access: case 2D
    target.add_user("user01", "User", "01", "u01@merged.example", firstaccess=1700000000)
    target.add_token(TOKEN, userid=2, functions=all_functions())
    return target


@pytest.fixture
async def served(sim: SimMoodle) -> AsyncIterator[str]:
    _target(sim)
    async with serving(create_sim_app(sim)) as url:
        yield url


@pytest.fixture
def real_script_runner(served: str, tmp_path: Path) -> MoodleCliRunner:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    php = bin_dir / "php"
    php.write_text(FAKE_PHP.format(python=sys.executable))
    php.chmod(0o755)
    script_dir = "/var/www/moodle/admin/cli"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FUSION_SIM_MOODLE_URL": served,
        "FUSION_SIM_MOODLE_PLATFORM": "target",
    }
    return MoodleCliRunner(
        templates=CliTemplates(
            backup=f"php {script_dir}/backup.php"
            " --courseid={courseid} --destination={destination}",
            restore=f"php {script_dir}/restore_backup.php"
            " --file={file} --categoryid={categoryid}",
        ),
        env=env,
    )


def _courses(sim: SimMoodle) -> dict[str, tuple[int, int]]:
    return {c.fullname: (c.id, c.visible) for c in sim["target"].courses.values()}


async def test_restore_fails_on_a_2d_conflict_then_succeeds_once_the_email_is_fixed(
    real_script_runner: MoodleCliRunner, served: str, sim: SimMoodle
) -> None:
    with pytest.raises(MoodleCliRestorePrecheckFailed) as refused:
        await real_script_runner.restore(file=BACKUP, categoryid=1)
    assert refused.value.run.exit_code == 1
    assert "Exception - error/restore_not_executable_awaiting_required" in refused.value.run.stdout
    placeholder = _courses(sim)["Course restoration in progress"]
    assert placeholder[1] == 0  # left behind, hidden, as Moodle does

    async with httpx.AsyncClient() as http:
        target = MoodleClient(base_url=f"{served}/target", token=TOKEN, http=http)
        user01 = (await target.get_users_by_field("username", ["user01"]))[0]
        fixed = await target.update_users([UserUpdate(user01["id"], email="user01@example.com")])
        assert fixed.failed == []
        done = await real_script_runner.restore(file=BACKUP, categoryid=1)
        assert f"== Restored course ID: {done.courseid} ==" in done.run.stdout
        course = (await target.get_courses_by_field("id", done.courseid))[0]
        roster = await target.get_enrolled_users(done.courseid, userfields=("id", "username"))
    assert (course["fullname"], course["shortname"], course["visible"]) == ("Course 01", "CS01", 1)
    by_name = {u["username"]: u["id"] for u in roster}
    assert by_name["user01"] == user01["id"]  # mapped to the local account (2A1)
    assert set(by_name) == {"user01", "user04"}  # user04 created; users missing from users.xml
    assert sim["target"].users[by_name["user04"]].email == "user04@example.com"


async def test_stand_in_and_real_template_share_the_runner(served: str, tmp_path: Path) -> None:
    module = f"{shlex.quote(sys.executable)} -m sim.moodle.cli_restore"
    prefix = f"{module} --sim-url={served} --platform=target"
    runner = MoodleCliRunner(
        templates=CliTemplates(
            backup=f"{prefix} --courseid={{courseid}} --destination={{destination}}",
            restore=f"{prefix} --file={{file}} --categoryid={{categoryid}}",
        )
    )
    junk = tmp_path / "not-a-backup.mbz"
    junk.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(MoodleCliRestoreFailed) as failed:
        await runner.restore(file=junk, categoryid=1)
    assert failed.value.errorcode == "cannot_precheck_wrong_status"


def test_templates_split_first_and_quote_values_for_a_remote_shell() -> None:
    runner = MoodleCliRunner(
        templates=CliTemplates(
            backup="ssh moodle1 sudo -u www-data php /srv/moodle/admin/cli/backup.php "
            "--courseid={courseid} --destination={destination}",
            restore="ssh moodle1 php /srv/moodle/admin/cli/restore_backup.php --file={file} "
            "--categoryid={categoryid}",
            remote_shell=True,
        )
    )
    argv = runner.backup_argv(courseid=7, destination=Path("/data/backups/it's; rm -rf ~"))
    assert argv[:6] == ["ssh", "moodle1", "sudo", "-u", "www-data", "php"]
    assert argv[-1] == "--destination='/data/backups/it'\"'\"'s; rm -rf ~'"
    assert shlex.split(argv[-1]) == ["--destination=/data/backups/it's; rm -rf ~"]
