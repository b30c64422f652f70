"""Writing a benchmark's figures where ``make bench`` promises them."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path("var/bench")


def write_report(name: str, figures: dict[str, Any]) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.json"
    body = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpu_count": _cpus()},
        "figures": figures,
    }
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False))
    return path


def _cpus() -> int:
    import os

    return os.cpu_count() or 1
