"""deploy/ansible/ under Debian's ansible: the playbook parses, and a --check run against this
machine (connection local) goes through every task without changing anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fusion.testing.paths import REPO

ANSIBLE = REPO / "deploy" / "ansible"
PLAYBOOK = shutil.which("ansible-playbook")
pytestmark = pytest.mark.skipif(
    PLAYBOOK is None, reason="ansible-playbook is not installed (Debian's ansible)"
)


def _playbook(*args: str) -> subprocess.CompletedProcess[str]:
    assert PLAYBOOK is not None
    command = [PLAYBOOK, "-i", "tests/localhost.yml", "site.yml", *args]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(
        command, cwd=ANSIBLE, env=env, capture_output=True, text=True, timeout=900
    )


def test_the_playbook_passes_syntax_check() -> None:
    checked = _playbook("--syntax-check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.slow
def test_a_check_run_against_localhost_passes_and_changes_nothing() -> None:
    before = {path: path.exists() for path in (Path("/opt/fusion"), Path("/etc/fusion"))}
    checked = _playbook("--check")
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr
    assert "failed=0" in checked.stdout
    for task in ("Migrations, before the service starts", "The systemd unit", "The site"):
        assert task in checked.stdout
    assert {path: path.exists() for path in before} == before
