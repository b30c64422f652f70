"""deploy/nginx/ under Debian's nginx, in front of small loopback backends that echo what they
receive: the headers nginx sets, which requests it retries on another replica and which not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from fusion.testing.paths import REPO
from fusion.testing.processes import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ROUTES = REPO / "deploy" / "nginx"
pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="Debian's nginx is not installed (.ci/install-packages)"
)


class Echo(BaseHTTPRequestHandler):
    """Answers with the request it saw; a server whose ``status`` is 502 plays a sick replica."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps(
            {"name": self.server.name, "path": self.path, "headers": dict(self.headers)}  # type: ignore[attr-defined]
        ).encode()
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Front:
    url: str
    error_log: Path


def _backend(name: str, status: int = 200) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.name, server.status = name, status  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _upstream(name: str, *servers: ThreadingHTTPServer) -> str:
    lines = "".join(
        f"server 127.0.0.1:{s.server_address[1]} max_fails=1 fail_timeout=30s; " for s in servers
    )
    return f"upstream {name} {{ {lines}}}\n"


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """nginx with deploy/nginx's routes: apogee_api is one sick and one healthy replica,
    identity the same (for POSTs), the others one healthy replica each."""
    root = tmp_path_factory.mktemp("nginx")
    names = ("sick-a", "good-a", "sick-i", "good-i", "orchestrator", "sync")
    backends = {n: _backend(n, 502 if n.startswith("sick") else 200) for n in names}
    port = free_port()
    upstreams = (
        _upstream("apogee_api", backends["sick-a"], backends["good-a"])
        + _upstream("identity", backends["sick-i"], backends["good-i"])
        + _upstream("migration_orchestrator", backends["orchestrator"])
        + _upstream("enrolment_sync", backends["sync"])
    )
    (root / "nginx.conf").write_text(
        f"pid {root}/nginx.pid; error_log {root}/error.log warn;\n"
        + ("user root;\n" if os.geteuid() == 0 else "")  # workers that may write the temp dir
        + f"events {{}}\nhttp {{ include {ROUTES}/http.conf; access_log {root}/access.log fusion;\n"
        + f"client_body_temp_path {root}; proxy_temp_path {root};\n{upstreams}"
        + f"server {{ listen 127.0.0.1:{port}; include {ROUTES}/routes.conf; }} }}\n"
    )
    command = [
        NGINX,
        "-p",
        str(root),
        "-c",
        str(root / "nginx.conf"),
        "-e",
        str(root / "error.log"),
    ]
    started = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert started.returncode == 0, started.stderr
    try:
        yield Front(f"http://127.0.0.1:{port}", root / "error.log")
    finally:
        subprocess.run([*command, "-s", "stop"], capture_output=True, timeout=30)
        for server in backends.values():
            server.shutdown()
            server.server_close()


def test_each_prefix_reaches_its_service(nginx: Front) -> None:
    base = nginx.url
    assert httpx.get(f"{base}/migrations/v1/migrations").json()["name"] == "orchestrator"
    assert httpx.get(f"{base}/sync/v1/runs").json()["name"] == "sync"
    assert httpx.get(f"{base}/apogee/v1/codes").json()["path"] == "/apogee/v1/codes"
    assert httpx.get(f"{base}/apogee/metrics").status_code == 404
    landing = httpx.get(f"{base}/")
    assert landing.status_code == 302
    assert landing.headers["location"].endswith("/migrations/pages/")
    assert httpx.get(f"{base}/nowhere").json()["error"]["message_fr"] == "Page introuvable."


def test_a_get_is_retried_on_the_healthy_replica(nginx: Front) -> None:
    answers = [httpx.get(f"{nginx.url}/apogee/v1/years/current") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert {a.json()["name"] for a in answers} == {"good-a"}


def test_a_post_is_never_sent_twice(nginx: Front) -> None:
    answers = [httpx.post(f"{nginx.url}/identity/v1/links", json={}) for _ in range(4)]
    # Round robin: the POSTs the sick replica received came back with its 502, not retried on
    # the healthy one (a replayed POST could create a second link).
    assert {a.status_code for a in answers} == {502, 200}
    assert {a.json()["name"] for a in answers if a.status_code == 502} == {"sick-i"}


def test_headers_nginx_sets_and_those_it_refuses(nginx: Front) -> None:
    base = nginx.url
    forged = {
        "X-Remote-User": "admin",
        "X-Fusion-Acting-User": "admin",
        "X-Correlation-ID": "support-42",
    }
    seen = httpx.get(f"{base}/sync/v1/runs", headers=forged).json()["headers"]
    assert "X-Remote-User" not in seen
    assert "X-Fusion-Acting-User" not in seen
    assert seen["X-Correlation-ID"] == "support-42"
    made = httpx.get(f"{base}/sync/v1/runs", headers={"X-Correlation-ID": "bad id!"}).json()
    assert len(made["headers"]["X-Correlation-ID"]) == 32  # nginx's own $request_id


def test_backups_are_streamed_not_buffered(nginx: Front) -> None:
    body = b"x" * (20 * 1024 * 1024)  # above the 16 MB limit of the other routes
    analysed = httpx.post(f"{nginx.url}/migrations/v1/backups:analyse", content=body, timeout=60)
    assert analysed.status_code == 200
    error_log = nginx.error_log
    assert "buffered to a temporary file" not in error_log.read_text()
    assert httpx.post(f"{nginx.url}/sync/v1/runs", content=body, timeout=60).status_code == 413
    smaller = httpx.post(f"{nginx.url}/sync/v1/runs", content=body[: 10 * 1024 * 1024], timeout=60)
    assert smaller.status_code == 200
    assert "buffered to a temporary file" in error_log.read_text()  # elsewhere nginx buffers
