"""The repository stands alone: nothing at run or test time reads the reference folder beside it."""

from __future__ import annotations

import re
import subprocess

from fusion.testing import standalone
from fusion.testing.paths import MBZ_FIXTURES, REFERENCE_BESIDE, REPO
from sim.moodle.demo import DEMO_BACKUPS

# A path that climbs to the reference folder beside the clone, or one built from a "shared" part.
_REACHES_BESIDE = re.compile(r"\.\./shared|/\s*[\"']shared[\"']|[\"']shared[\"']\s*/")
WATCH = ("tests/kit/test_standalone.py", "fusion/testing/paths.py", "fusion/testing/standalone.py")
RUNTIME_PACKAGES = ("fusion", "services", "sim", "launcher")


def _tracked(*patterns: str) -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "--", *patterns], cwd=REPO, capture_output=True, text=True, check=True
    )
    return listing.stdout.split()


def test_no_tracked_file_points_beside_the_repository() -> None:
    offenders = []
    for name in _tracked("*.py", "*.md", "*.toml", "*.yaml", "*.yml", "Makefile", "Dockerfile"):
        if name in WATCH:  # the watch itself names the folder it watches
            continue
        text = (REPO / name).read_text(encoding="utf-8")
        offenders += [f"{name}: {m.group(0)}" for m in _REACHES_BESIDE.finditer(text)]
    assert offenders == []


def test_runtime_code_does_not_import_the_test_kit() -> None:
    importing = [
        name
        for name in _tracked(*(f"{package}/*.py" for package in RUNTIME_PACKAGES))
        if not name.startswith("fusion/testing/")
        and "fusion.testing" in (REPO / name).read_text(encoding="utf-8")
    ]
    assert importing == []


def test_the_watch_records_a_read_beside_the_repository() -> None:
    before = len(standalone._seen)
    standalone._audit("open", (str(REFERENCE_BESIDE / "fixtures" / "x.mbz"), "r", 0))
    standalone._audit("open", (str(REPO / "README.md"), "r", 0))
    recorded = standalone._seen[before:]
    del standalone._seen[before:]  # this one was on purpose: it must not fail the run
    assert recorded == [f"open {REFERENCE_BESIDE / 'fixtures' / 'x.mbz'}"]


def test_the_simulator_ships_the_same_real_backups_as_the_tests() -> None:
    shipped = {p.name: p.read_bytes() for p in DEMO_BACKUPS.glob("*.mbz")}
    fixtures = {p.name: p.read_bytes() for p in MBZ_FIXTURES.glob("*.mbz")}
    assert len(shipped) == 4
    assert shipped == fixtures
