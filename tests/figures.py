"""Figures a test measures (cases run, messages counted), written to the terminal as
``FIGURES ...`` lines even while pytest captures the test's output, kept in the log, and
appended to ``var/test-figures.log`` (the terminal of an xdist worker is not shown)."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import UTC, datetime

import pytest

log = logging.getLogger("fusion.tests.figures")


def report(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    text = f"FIGURES {line}"
    log.warning(text)
    figures = config.rootpath / "var" / "test-figures.log"
    figures.parent.mkdir(exist_ok=True)
    with figures.open("a", encoding="utf-8") as out:
        out.write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {text}\n")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        reporter.ensure_newline()
        reporter.write_line(text)
