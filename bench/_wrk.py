"""Throughput measured by Debian's ``wrk`` (a C load generator: the client is never the limit),
installed through ``.ci/install-packages`` (``.ci/packages.d/bench.txt``) when it is absent."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fusion.testing.paths import REPO

_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*")


@dataclass(frozen=True)
class Load:
    connections: int = 16
    threads: int = 2
    seconds: int = 10


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        subprocess.run([str(REPO / ".ci" / "install-packages")], check=False)
        found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is missing: run .ci/install-packages as root (apt-get install wrk)")
    return found


def _script(paths: list[str], headers: dict[str, str], folder: Path) -> Path:
    """A Lua script sending the paths in turn, with the headers, from every connection."""
    lines = [f"local paths = {json.dumps(paths)}".replace("[", "{").replace("]", "}")]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    lines += [
        "local i = 0",
        "request = function()",
        "  i = i % #paths + 1",
        "  return wrk.format(nil, paths[i])",
        "end",
    ]
    path = folder / f"wrk-{abs(hash(tuple(paths))) % 10**8}.lua"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def requests_per_second(
    base: str, paths: list[str], headers: dict[str, str], *, folder: Path, load: Load = Load()
) -> float:
    """Requests/s over ``load.seconds``; refuses a run in which any answer was not 2xx/3xx."""
    wrk = ensure_wrk()
    script = _script(paths, headers, folder)
    command = [wrk, f"-t{load.threads}", f"-c{load.connections}", f"-d{load.seconds}s"]
    command += ["--timeout", "10s", "-s", str(script), base]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    errors = _ERRORS.search(output.stdout)
    if errors:
        raise RuntimeError(f"wrk saw failed requests: {errors.group(0)}")
    found = _RPS.search(output.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no Requests/sec: {output.stdout[-500:]}")
    return float(found.group(1))
