"""What the stack runs: its processes, their ports and the environment each one reads."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from launcher.registry import SERVICES
from launcher.stack.environment import HISTORICAL, StackSecrets, service_env, worker_env

DATABASES = {
    "apogee_api": "apogee",
    "identity": "identity",
    "migration_orchestrator": "migrations",
    "enrolment_sync": "sync",
}
REPLICAS = {"apogee_api": 2}


@dataclass(frozen=True)
class StackConfig:
    directory: Path = Path("var/stack")
    port: int = 8088  # nginx, on the loopback interface
    name: str = "fusion_stack"  # databases <name>_<db>, RabbitMQ virtual host <name>
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    apogee_scale: str = "demo"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def database_url(self, service: str) -> str:
        server = self.postgres_dsn.rsplit("/", 1)[0]
        server = server.replace("postgresql://", "postgresql+asyncpg://", 1)
        return f"{server}/{self.name}_{DATABASES[service]}"


@dataclass(frozen=True)
class Process:
    """One process of the stack: ``python -m <args>`` (or ``program <args>``), healthy once
    ``health_path`` answers 200."""

    name: str
    args: tuple[str, ...]
    port: int
    health_path: str  # "" for a process without HTTP: ready once its log says `ready_line`
    env: dict[str, str] = field(default_factory=dict)
    service: str = ""  # the service it serves ("" for the simulator and Prometheus)
    program: str = ""
    ready_line: str = ""

    @property
    def argv(self) -> list[str]:
        return [self.program, *self.args] if self.program else [sys.executable, "-m", *self.args]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def simulator(port: int) -> Process:
    args = ("launcher.cli", "sim", "moodle", "--host", "127.0.0.1", "--port", str(port))
    return Process("moodle-sim", args, port, "/target/_sim/counters")


def service_processes(config: StackConfig, secrets: StackSecrets, sim_port: int) -> list[Process]:
    processes = []
    for name, entry in SERVICES.items():
        for replica in range(1, REPLICAS.get(name, 1) + 1):
            port = free_port()
            processes.append(
                Process(
                    f"{name}-{replica}",
                    ("launcher.cli", "serve", name, "--host", "127.0.0.1", "--port", str(port)),
                    port,
                    f"{entry.prefix}/readyz",
                    service_env(name, config, secrets, sim_port),
                    service=name,
                )
            )
    return processes


def worker_processes(config: StackConfig, secrets: StackSecrets, sim_port: int) -> list[Process]:
    """A backup worker beside each historical platform, a restore worker beside the target."""
    workers: list[tuple[str, tuple[str, ...]]] = [
        (f"worker-backup-{p}", ("backup", "--platform", p)) for p in HISTORICAL
    ]
    workers.append(("worker-restore", ("restore",)))
    return [
        Process(
            name,
            ("launcher.cli", "worker", *args),
            0,
            "",
            worker_env(name, config, secrets, sim_port),
            ready_line=f"worker {name} ready",
        )
        for name, args in workers
    ]
