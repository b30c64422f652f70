"""`make stack-down` stops exactly what `make stack` started: pid files checked against the
command line they recorded, never a process that merely reuses the pid or a name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fusion.settings_errors import load_settings
from launcher.stack import processes
from launcher.stack.environment import StackSecrets, service_env
from launcher.stack.nginx import render
from launcher.stack.processes import StackError
from launcher.stack.topology import Process, StackConfig
from services.enrolment_sync.settings import Settings as SyncSettings

SLEEPER = ("-c", "import time; time.sleep(120)")


def _sleeper(name: str) -> Process:
    return Process(name, SLEEPER, 0, "", program=sys.executable, ready_line="never")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "pids").mkdir()
    (tmp_path / "logs").mkdir()
    return tmp_path / "pids", tmp_path / "logs"


def test_a_started_process_is_recorded_and_stopped(dirs: tuple[Path, Path]) -> None:
    pid_dir, log_dir = dirs
    pid = processes.start(_sleeper("one"), pid_dir=pid_dir, log_dir=log_dir)
    assert processes.running(pid_dir) == {"one": pid}
    assert processes.stop("one", pid_dir=pid_dir) is True
    assert processes.running(pid_dir) == {}
    assert not (pid_dir / "one.pid").exists()


def test_a_pid_that_now_runs_something_else_is_left_alone(dirs: tuple[Path, Path]) -> None:
    pid_dir, _ = dirs
    other = subprocess.Popen([sys.executable, *SLEEPER])  # not started by the stack
    try:
        record = {"pid": other.pid, "argv": ["python", "-m", "launcher.cli", "serve"], "port": 0}
        (pid_dir / "stale.pid").write_text(json.dumps(record))
        assert processes.running(pid_dir) == {}
        assert processes.stop("stale", pid_dir=pid_dir) is False
        assert other.poll() is None  # never signalled
    finally:
        os.kill(other.pid, signal.SIGKILL)
        other.wait()


def test_a_process_that_exits_at_start_is_reported_with_its_log(dirs: tuple[Path, Path]) -> None:
    pid_dir, log_dir = dirs
    failing = Process(
        "bad", ("-c", "raise SystemExit(3)"), 0, "", program=sys.executable, ready_line="x"
    )
    pid = processes.start(failing, pid_dir=pid_dir, log_dir=log_dir)
    with pytest.raises(StackError, match=r"bad exited; see .*bad\.log"):
        processes.wait_healthy(failing, pid=pid, log_dir=log_dir, timeout=30)
    assert processes.stop("bad", pid_dir=pid_dir) is False


def test_nginx_gets_one_upstream_per_service_with_every_replica(tmp_path: Path) -> None:
    replicas = [
        Process("apogee_api-1", (), 9001, "/apogee/readyz", service="apogee_api"),
        Process("apogee_api-2", (), 9002, "/apogee/readyz", service="apogee_api"),
        Process("moodle-sim", (), 9100, "/target/_sim/counters"),
    ]
    conf = render(replicas, root=tmp_path, port=8088)
    assert "upstream apogee_api {\n        server 127.0.0.1:9001 max_fails=1" in conf
    assert "server 127.0.0.1:9002 max_fails=1 fail_timeout=10s;" in conf
    assert "upstream moodle_sim" in conf
    assert "listen 127.0.0.1:8088;" in conf
    assert f"pid {tmp_path}/nginx.pid;" in conf  # never the system's


def test_the_stacks_sync_takes_its_target_from_the_platform_list_identity_gets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = StackSecrets(
        bus_url="amqp://guest:guest@127.0.0.1:5672/",
        token_hashes="[]",
        service_token="s",
        plugin_token="p",
    )
    env = service_env("enrolment_sync", StackConfig(), secrets, sim_port=8099)
    assert (
        env["FUSION_SYNC_PLATFORMS"]
        == service_env("identity", StackConfig(), secrets, sim_port=8099)[
            "FUSION_IDENTITY_PLATFORMS"
        ]
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(SyncSettings)
    target = next(p for p in settings.moodle_platforms() if p.name == settings.target_platform)
    assert (target.url, target.welcome_messages_off) == ("http://127.0.0.1:8099/target", True)
    assert settings.moodle_url == target.url
