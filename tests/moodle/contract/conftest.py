"""The ``target`` fixture: each contract test runs once per configured Moodle."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from fusion.moodle import CliTemplates
from fusion.testing.serving import serving
from sim.moodle.app import create_sim_app
from sim.moodle.releases import RELEASES
from sim.moodle.state import SimMoodle, all_functions

from .target import ContractTarget, prepared, targets

SIM_TOKEN = "contract-token"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", targets(), indirect=True)


def _sim(branch: str) -> SimMoodle:
    sim = SimMoodle()
    platform = sim.add_platform(
        "contract", sitename="Contract", wwwroot="http://contract.test", release=RELEASES[branch]
    )
    platform.add_category("Miscellaneous", id=1)
    platform.add_course("contract", "Contract site", 0, id=1, format="site")
    platform.add_user("admin", "Admin", "User", "admin@contract.test", id=2)
    platform.add_token(SIM_TOKEN, userid=2, functions=all_functions())
    return sim


def _stand_in_templates(url: str) -> CliTemplates:
    python = shlex.quote(sys.executable)
    where = f"--sim-url={url} --platform=contract"
    return CliTemplates(
        backup=f"{python} -m sim.moodle.cli_backup {where} "
        "--courseid={courseid} --destination={destination}",
        restore=f"{python} -m sim.moodle.cli_restore {where} "
        "--file={file} --categoryid={categoryid}",
        timeout_seconds=120.0,
    )


def _live_templates() -> CliTemplates | None:
    backup = os.environ.get("FUSION_LIVE_MOODLE_BACKUP_COMMAND")
    restore = os.environ.get("FUSION_LIVE_MOODLE_RESTORE_COMMAND")
    if not (backup and restore):
        return None
    # like a platform's remote_shell: the values are quoted for the shell ssh hands them to
    remote = os.environ.get("FUSION_LIVE_MOODLE_REMOTE_SHELL") == "1"
    return CliTemplates(backup=backup, restore=restore, remote_shell=remote, timeout_seconds=1800.0)


@pytest.fixture
def cli_dir(tmp_path: Path) -> Iterator[Path]:
    """Where a backup is written and a restore reads it. On a live site,
    ``FUSION_LIVE_MOODLE_CLI_DIR``: a directory at the same path here and where Moodle's CLI
    runs (a share when that is another host), in which each test gets its own, open to the web
    server's user; without it, the test's own (pytest's are closed to other users)."""
    shared = os.environ.get("FUSION_LIVE_MOODLE_CLI_DIR")
    if not shared:
        yield tmp_path
        return
    where = Path(shared) / f"fusion-contract-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    where.chmod(0o777)  # the web server's user writes the backup there
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
async def target(request: pytest.FixtureRequest) -> AsyncIterator[ContractTarget]:
    name: str = request.param
    if name == "live":
        url, token = os.environ["FUSION_LIVE_MOODLE_URL"], os.environ["FUSION_LIVE_MOODLE_TOKEN"]
        async with (
            httpx.AsyncClient(timeout=120.0) as http,
            prepared(name, http=http, url=url, token=token, cli=_live_templates()) as live,
        ):
            yield live
        return
    sim = _sim(name.removeprefix("sim-"))
    async with serving(create_sim_app(sim)) as url, httpx.AsyncClient(timeout=30.0) as http:
        templates = _stand_in_templates(url)
        async with prepared(
            name, http=http, url=f"{url}/contract", token=SIM_TOKEN, cli=templates
        ) as simulated:
            yield simulated
