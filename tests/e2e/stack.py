"""A `make stack` under test: its directory, name, address and tokens, and the make targets."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fusion.testing.paths import REPO


@dataclass
class Stack:
    directory: Path
    name: str
    url: str
    tokens: dict[str, str]

    def client(self, role: str = "admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def state(self) -> Any:
        return json.loads((self.directory / "stack.json").read_text())

    def make(self, target: str, **variables: str) -> subprocess.CompletedProcess[str]:
        args = [f"STACK_DIR={self.directory}", f"STACK_NAME={self.name}"]
        args += [f"{key}={value}" for key, value in variables.items()]
        # -o: the virtualenv in place is the one under test; never reinstall it here.
        command = ["make", "-s", "-o", ".venv/.installed", target, *args]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def recorded_pids(directory: Path) -> list[int]:
    """Every pid the stack recorded: its processes' pid files and nginx's own."""
    pids = [json.loads(p.read_text())["pid"] for p in (directory / "pids").glob("*.pid")]
    nginx_pid = directory / "nginx" / "nginx.pid"
    return pids + ([int(nginx_pid.read_text())] if nginx_pid.exists() else [])
