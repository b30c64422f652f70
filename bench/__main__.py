"""``python -m bench [NAME]``: run one benchmark module of this package, or all of them.

Each benchmark prints its figures as ratios against a baseline measured in the same run and
writes them as JSON to ``var/bench/<name>.json``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(here)])
        if not m.name.startswith("_") and m.name != "report"
    )


def main(argv: list[str]) -> int:
    names = [name.replace("-", "_") for name in argv] or available()  # sync-live = sync_live
    unknown = [name for name in names if name not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    status = 0
    for name in names:
        print(f"=== bench {name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        status |= int(module.main() or 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
