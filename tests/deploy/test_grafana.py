"""deploy/grafana/: provisioned dashboards that Grafana can load, on the provisioned datasource."""

from __future__ import annotations

import json

import yaml

from fusion.testing.paths import REPO

GRAFANA = REPO / "deploy" / "grafana"


def test_dashboards_use_the_provisioned_datasource_and_unique_ids() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uid = datasources["datasources"][0]["uid"]
    dashboards = [json.loads(p.read_text()) for p in sorted(GRAFANA.glob("dashboards/*.json"))]
    assert {d["uid"] for d in dashboards} == {"fusion-services", "fusion-sync", "fusion-migrations"}
    for dashboard in dashboards:
        panel_ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(panel_ids) == len(set(panel_ids)), dashboard["uid"]
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == uid
            assert panel["targets"]
            assert all(target["expr"].strip() for target in panel["targets"])


def test_the_dashboard_provider_reads_where_compose_mounts_them() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/fusion.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts
