"""deploy/prometheus/ checked by Debian's promtool: the configuration, and every alert's tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from fusion.testing.paths import REPO

PROMETHEUS = REPO / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian's prometheus, .ci/install-packages)"
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


@needs_promtool
def test_promtool_check_config_passes() -> None:
    checked = _promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "rule files found" in checked.stdout  # the rules were found and checked too


@needs_promtool
def test_promtool_test_rules_passes() -> None:
    tested = _promtool("test", "rules", str(PROMETHEUS / "tests" / "alerts_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test_that_sees_it_fire() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((PROMETHEUS / "tests" / "alerts_test.yml").read_text())["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts - firing == set()
