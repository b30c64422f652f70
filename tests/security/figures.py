"""Figures a test measures (cases run, messages counted), written to the terminal as
``FIGURES ...`` lines even while pytest captures the test's output, and kept in the log."""

from __future__ import annotations

import logging
from contextlib import nullcontext

import pytest

log = logging.getLogger("fusion.tests.figures")


def report(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    text = f"FIGURES {line}"
    log.warning(text)
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        reporter.ensure_newline()
        reporter.write_line(text)
