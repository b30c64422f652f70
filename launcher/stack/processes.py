"""Starting the stack's processes detached, and stopping exactly those, by their pid files.

A pid file holds the pid and the command line it was started with: a stop checks that the pid
still runs that command line, so a pid the system reused for something else is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from launcher.stack.topology import Process

# Children started by this process: kept, so that no Popen is collected while its process runs
# (they outlive us by design; `_reap` collects those that end while we are still here).
_STARTED: list[subprocess.Popen[bytes]] = []


class StackError(RuntimeError):
    """The stack cannot start or stop as asked; the message says why and where to look."""


def start(process: Process, *, pid_dir: Path, log_dir: Path) -> int:
    log_path = log_dir / f"{process.name}.log"
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            process.argv,
            env={**os.environ, **process.env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `make stack`; Ctrl-C in that shell spares it
        )
    _STARTED.append(child)
    record = {"pid": child.pid, "argv": process.argv, "port": process.port}
    (pid_dir / f"{process.name}.pid").write_text(json.dumps(record))
    _wait_exec(child, process.argv)
    return child.pid


def _wait_exec(child: subprocess.Popen[bytes], argv: list[str], timeout: float = 5.0) -> None:
    """Until the kernel shows the child's own command line: Popen returns once the exec has
    begun, and for a moment after that ``/proc/<pid>/cmdline`` is still empty (on a loaded
    machine, long enough for ``running`` to miss a process just started)."""
    deadline = time.monotonic() + timeout
    while child.poll() is None and not _runs(child.pid, argv) and time.monotonic() < deadline:
        time.sleep(0.01)


def wait_healthy(process: Process, *, pid: int, log_dir: Path, timeout: float = 90.0) -> None:
    """Until its health URL answers 200 (or its log says ``ready_line``), or it exits."""
    log = log_dir / f"{process.name}.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise StackError(f"{process.name} exited; see {log}")
        if _ready(process, log):
            return
        time.sleep(0.3)
    raise StackError(f"{process.name} not ready after {timeout:.0f} s; see {log}")


def _ready(process: Process, log: Path) -> bool:
    if process.ready_line:
        return process.ready_line in log.read_text(errors="replace")
    try:
        url = f"http://127.0.0.1:{process.port}{process.health_path}"
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def running(pid_dir: Path) -> dict[str, int]:
    """The stack's processes still alive, by name."""
    alive = {}
    for pid_file in sorted(pid_dir.glob("*.pid")):
        record = json.loads(pid_file.read_text())
        if _runs(record["pid"], record["argv"]):
            alive[pid_file.stem] = int(record["pid"])
    return alive


def stop(name: str, *, pid_dir: Path, timeout: float = 20.0) -> bool:
    """Stop one process gracefully (SIGTERM, then SIGKILL); False when it was not running."""
    pid_file = pid_dir / f"{name}.pid"
    record = json.loads(pid_file.read_text())
    pid, argv = int(record["pid"]), record["argv"]
    was_running = _runs(pid, argv)
    if was_running:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, argv, timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, argv, 5.0)
    pid_file.unlink()
    return was_running


def _wait_gone(pid: int, argv: list[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not _runs(pid, argv):
            return True
        time.sleep(0.1)
    return False


def _reap(pid: int) -> None:
    # Our own child when up and down run in one process (a failed start).
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[-1].split()[0] == "Z"


def _runs(pid: int, argv: list[str]) -> bool:
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return [part.decode() for part in cmdline if part] == argv
