"""The alert rules and the dashboard speak of metrics the services really export."""

import json
import re

from prometheus_client import REGISTRY

import services.apogee_api.app
import services.enrolment_sync.app
import services.identity.app
import services.migration_orchestrator.app
from fusion.testing.paths import REPO

SERVICES = (
    services.apogee_api.app,
    services.enrolment_sync.app,
    services.identity.app,
    services.migration_orchestrator.app,
)
_METRIC = re.compile(r"\b(fusion_[a-z0-9_]+)")
_SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def _exported() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():  # every metric registered when the apps were imported
        names.add(metric.name)
        names |= {sample.name for sample in metric.samples}
        names |= {metric.name + suffix for suffix in (*_SUFFIXES, "_total")}
    return names


def _referenced(text: str) -> set[str]:
    return set(_METRIC.findall(text))


def test_alert_rules_use_exported_metrics() -> None:
    assert SERVICES  # importing the apps registers their metrics
    rules = (REPO / "deploy" / "prometheus" / "alerts.yml").read_text()
    missing = _referenced(rules) - _exported()
    assert not missing, f"alert rules reference unknown metrics: {sorted(missing)}"


def test_dashboard_uses_exported_metrics() -> None:
    dashboard = json.loads((REPO / "deploy" / "grafana" / "fusion.json").read_text())
    exprs = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    missing = _referenced(exprs) - _exported()
    assert not missing, f"the dashboard references unknown metrics: {sorted(missing)}"
