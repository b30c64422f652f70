"""Debian's Prometheus beside the stack: it scrapes every replica directly (as in production)
and evaluates deploy/prometheus/alerts.yml, so the rules and dashboards meet a real scrape."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from launcher.registry import SERVICES
from launcher.stack.topology import Process

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


def binary() -> str | None:
    return shutil.which("prometheus")


def scrape_config(services: list[Process]) -> dict[str, object]:
    jobs = []
    for name, entry in SERVICES.items():
        targets = [f"127.0.0.1:{p.port}" for p in services if p.service == name]
        jobs.append(
            {
                "job_name": f"fusion-{name}",
                "metrics_path": f"{entry.prefix}/metrics",
                "static_configs": [{"targets": targets}],
            }
        )
    return {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "rule_files": [str(RULES)],
        "scrape_configs": jobs,
    }


def prometheus(program: str, services: list[Process], *, root: Path, port: int) -> Process:
    """The Prometheus process, its configuration written under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "prometheus.yml"
    config.write_text(json.dumps(scrape_config(services), indent=2))  # JSON is YAML too
    args = (
        f"--config.file={config}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=2d",
    )
    return Process("prometheus", args, port, "/-/ready", program=program)
