"""A pytest plugin that fails the run when anything opens or lists the reference folder that a
developer may keep beside the clone (named shared): a university's clone has none."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from fusion.testing.paths import REFERENCE_BESIDE

_WATCHED = ("open", "os.listdir", "os.scandir", "os.chdir")
_seen: list[str] = []


def _beside(path: Any) -> bool:
    if isinstance(path, int) or path is None:
        return False
    try:
        text = os.path.abspath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    reference = str(REFERENCE_BESIDE)
    return text == reference or text.startswith(reference + os.sep)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _WATCHED and args and _beside(args[0]) and len(_seen) < 20:
        _seen.append(f"{event} {args[0]}")


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001 — pytest's hook signature
    sys.addaudithook(_audit)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:  # noqa: ARG001
    if _seen:
        listing = "\n  ".join(_seen)
        sys.stderr.write(f"read in the reference folder beside the repository:\n  {listing}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
