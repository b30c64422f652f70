"""One `make stack` for the whole e2e package: starting eleven processes and nginx costs about
half a minute, so the stack tests and the distributed migrations share one stack."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fusion.testing.processes import free_port
from tests.e2e.stack import Stack, recorded_pids


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("Debian's nginx is not installed (.ci/install-packages)")
    port = free_port()
    stack = Stack(
        tmp_path_factory.mktemp("stack"),
        f"fusion_test_e2e_{uuid.uuid4().hex[:8]}",
        f"http://127.0.0.1:{port}",
        {},
    )
    started = stack.make("stack", STACK_PORT=str(port))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        stack.tokens = json.loads((stack.directory / "tokens.json").read_text())
        yield stack
    finally:
        started_pids = recorded_pids(stack.directory)
        stopped = stack.make("stack-down", PURGE="1")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not list((stack.directory / "pids").glob("*.pid"))
    assert not (stack.directory / "nginx" / "nginx.pid").exists()
    assert len(started_pids) >= 10  # those still running: apogee_api-1 may have been stopped
    assert [pid for pid in started_pids if Path(f"/proc/{pid}").exists()] == []
