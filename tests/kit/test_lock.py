"""The locked install: the environment is the lock, and the lock follows pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fusion.testing.paths import REPO

_REQUIREMENT_LINE = re.compile(r"^([A-Za-z0-9].*?)\s*\\?$", re.MULTILINE)


def _locked(name: str) -> dict[str, str]:
    """Package -> version for what the lock installs on this machine (markers evaluated)."""
    text = (REPO / name).read_text(encoding="utf-8")
    assert "--hash=sha256:" in text
    pins: dict[str, str] = {}
    for line in _REQUIREMENT_LINE.findall(text):
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            pins[canonicalize_name(req.name)] = str(req.specifier).removeprefix("==")
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(line) for line in declared]


def test_every_locked_package_is_installed_at_its_locked_version() -> None:
    installed: dict[str, str] = {
        canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()
    }
    wrong = {
        name: (version, installed.get(name))
        for name, version in _locked("requirements-dev.lock").items()
        if installed.get(name) != version
    }
    assert wrong == {}


def test_every_declared_pin_is_in_the_lock() -> None:
    locked = _locked("requirements-dev.lock")
    stale = [
        str(req)
        for req in _declared()
        if not req.specifier.contains(locked.get(canonicalize_name(req.name), "0"))
    ]
    assert stale == []


def test_the_runtime_lock_agrees_with_the_dev_lock() -> None:
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert len(runtime) > 30
    assert {name: version for name, version in runtime.items() if dev.get(name) != version} == {}
