"""Debian's nginx in front of the stack, with its own configuration, pid and logs under the
stack's directory: the system's nginx (if any) is never read, signalled or reloaded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from launcher.stack.processes import StackError
from launcher.stack.topology import Process

NGINX_DIR = Path(__file__).resolve().parents[2] / "deploy" / "nginx"
# nginx's upstream names are the service names; the simulator is reachable under /sim/ so that
# a test (or a curious user) sees the platforms through the same front door.
TEMPLATE = """\
# Written by `make stack` — regenerated at every start.
{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    include {deploy}/http.conf;
    access_log {root}/access.log fusion;
{upstreams}
    server {{
        listen 127.0.0.1:{port};
        include {deploy}/routes.conf;
        location /sim/ {{ proxy_pass http://moodle_sim/; }}
    }}
}}
"""


def render(processes: list[Process], *, root: Path, port: int) -> str:
    replicas: dict[str, list[int]] = defaultdict(list)
    for process in processes:
        replicas[process.service or "moodle_sim"].append(process.port)
    upstreams = "".join(
        f"    upstream {name} {{\n"
        + "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in ports)
        + "        keepalive 16;\n    }\n"
        for name, ports in replicas.items()
    )
    # As root, nginx would hand its workers to `nobody`, who may not write our temp directories.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return TEMPLATE.format(user=user, root=root, deploy=NGINX_DIR, upstreams=upstreams, port=port)


def binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        raise StackError("nginx is not installed: run .ci/install-packages (Debian's nginx)")
    return found


def start(processes: list[Process], *, root: Path, port: int) -> None:
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / "tmp" / temp).mkdir(parents=True, exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(render(processes, root=root, port=port))
    _nginx(root, "-t", "-q")
    _nginx(root)


def stop(root: Path, timeout: float = 20.0) -> bool:
    """Stop our nginx (graceful quit, then kill); False when it was not running."""
    pid = master_pid(root)
    if pid is None:
        return False
    os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + timeout
    while master_pid(root) == pid and time.monotonic() < deadline:
        time.sleep(0.1)
    if master_pid(root) == pid:
        os.kill(pid, signal.SIGKILL)
    (root / "nginx.pid").unlink(missing_ok=True)
    return True


def master_pid(root: Path) -> int | None:
    """The pid in our pid file, if it is our nginx master (its command line names our conf)."""
    try:
        pid = int((root / "nginx.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(root / "nginx.conf").encode() in cmdline else None


def _nginx(root: Path, *args: str) -> None:
    command = [
        binary(),
        "-p",
        str(root),
        "-c",
        str(root / "nginx.conf"),
        "-e",
        str(root / "error.log"),
    ]
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise StackError(f"nginx {' '.join(args) or 'start'} failed: {result.stderr.strip()}")
