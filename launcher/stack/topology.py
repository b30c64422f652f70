"""What the stack runs: its processes, their ports and the environment each one reads."""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from launcher.registry import SERVICES

SIM_PLATFORMS = {"ub1": "ub1-token", "ub2": "ub2-token", "ub4": "ub4-token"}
TARGET_TOKEN = "target-token"
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
    health_path: str
    env: dict[str, str] = field(default_factory=dict)
    service: str = ""  # the service it serves ("" for the simulator and Prometheus)
    program: str = ""

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


def service_processes(
    config: StackConfig, shared_env: dict[str, str], sim_port: int, service_token: str
) -> list[Process]:
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
                    {**shared_env, **_own_env(name, config, sim_port, service_token)},
                    service=name,
                )
            )
    return processes


def _own_env(
    service: str, config: StackConfig, sim_port: int, service_token: str
) -> dict[str, str]:
    prefix = SERVICES[service].settings_class().model_config.get("env_prefix", "FUSION_")
    env = {f"{prefix}DATABASE_URL": config.database_url(service)}
    if service == "migration_orchestrator":
        env[f"{prefix}PLATFORMS"] = json.dumps(sim_platforms(sim_port))
    if service == "enrolment_sync":
        env |= {
            # Through nginx, as in production: the sync sees apogee_api's replicas fail over.
            f"{prefix}APOGEE_URL": config.base_url,
            f"{prefix}APOGEE_TOKEN": service_token,
            f"{prefix}MOODLE_URL": f"http://127.0.0.1:{sim_port}/target",
            f"{prefix}MOODLE_TOKEN": TARGET_TOKEN,
            # The simulated target holds no student accounts: the sync creates them (CAS).
            f"{prefix}MISSING_USERS": "create",
            # Runs are started through the API; no run at 12:00 in the middle of a test.
            f"{prefix}SCHEDULE_ENABLED": "false",
        }
    return env


def sim_platforms(sim_port: int) -> list[dict[str, str]]:
    """The simulator's historical platforms, its CLI stand-ins in place of Moodle's scripts."""
    sim_url = f"http://127.0.0.1:{sim_port}"
    platforms = []
    for name, token in SIM_PLATFORMS.items():
        stand_in = f"{sys.executable} -m sim.moodle.cli_{{}} --sim-url={sim_url} --platform={name} "
        platforms.append(
            {
                "name": name,
                "label": f"Moodle {name.upper()} (simulateur)",
                "url": f"{sim_url}/{name}",
                "token": token,
                "backup_command": stand_in.format("backup")
                + "--courseid={courseid} --destination={destination}",
                "restore_command": stand_in.format("restore")
                + "--file={file} --categoryid={categoryid}",
            }
        )
    return platforms
