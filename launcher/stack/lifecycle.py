"""Bringing the whole stack up in order, and down again: exactly what ``up`` recorded."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from launcher.registry import SERVICES
from launcher.stack import monitoring, nginx, processes, resources
from launcher.stack.environment import StackSecrets
from launcher.stack.processes import StackError
from launcher.stack.topology import (
    Process,
    StackConfig,
    free_port,
    service_processes,
    simulator,
    worker_processes,
)


def up(config: StackConfig) -> dict[str, object]:
    """Start everything; on any failure stop what was started and raise StackError."""
    root = config.directory.resolve()
    pid_dir, log_dir = root / "pids", root / "logs"
    for folder in (pid_dir, log_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if processes.running(pid_dir) or nginx.master_pid(root / "nginx") is not None:
        raise StackError(
            f"une pile tourne déjà dans {root} (make stack-down) / "
            f"a stack is already running in {root} (make stack-down first)"
        )
    try:
        return _start_all(config, root, pid_dir, log_dir)
    except BaseException:
        down(config)
        raise


def _start_all(config: StackConfig, root: Path, pid_dir: Path, log_dir: Path) -> dict[str, object]:
    setup_log = log_dir / "setup.log"
    asyncio.run(resources.create_databases(config))
    bus_url, own_vhost = resources.rabbitmq_url(config)
    resources.prepare_apogee(config, root / "apogee.generated", setup_log)
    for service in SERVICES:
        resources.migrate(service, config, setup_log)
    tokens, token_hashes = resources.issue_tokens(root / "tokens.json")
    secrets = StackSecrets(bus_url, token_hashes, tokens["service"], tokens["plugin"])
    sim = simulator(free_port())
    started = [sim, *service_processes(config, secrets, sim.port)]
    _start_each(started, pid_dir, log_dir)
    nginx.start(started, root=root / "nginx", port=config.port)
    # The workers reach the orchestrator through nginx, as they would from beside each Moodle.
    workers = worker_processes(config, secrets, sim.port)
    _start_each(workers, pid_dir, log_dir)
    started += workers + _start_prometheus(started, root, pid_dir, log_dir)
    state = {
        "config": {key: str(value) for key, value in asdict(config).items()},
        "url": config.base_url,
        "own_vhost": own_vhost,
        "processes": {p.name: {"port": p.port, "service": p.service} for p in started},
        "prometheus": next(
            (f"http://127.0.0.1:{p.port}" for p in started if p.name == "prometheus"), None
        ),
    }
    (root / "stack.json").write_text(json.dumps(state, indent=2))
    return state


def _start_each(started: list[Process], pid_dir: Path, log_dir: Path) -> None:
    for process in started:
        pid = processes.start(process, pid_dir=pid_dir, log_dir=log_dir)
        processes.wait_healthy(process, pid=pid, log_dir=log_dir)


def _start_prometheus(
    started: list[Process], root: Path, pid_dir: Path, log_dir: Path
) -> list[Process]:
    program = monitoring.binary()
    if program is None:  # the stack runs without it; `up` says so
        return []
    process = monitoring.prometheus(program, started, root=root / "prometheus", port=free_port())
    _start_each([process], pid_dir, log_dir)
    return [process]


def down(config: StackConfig, *, purge: bool = False) -> list[str]:
    """Stop the processes the pid files name, and our nginx; ``purge`` also drops the
    databases and the virtual host. Returns what was stopped."""
    root = config.directory.resolve()
    stopped = ["nginx"] if nginx.stop(root / "nginx") else []
    pid_dir = root / "pids"
    for pid_file in sorted(pid_dir.glob("*.pid")) if pid_dir.is_dir() else []:
        if processes.stop(pid_file.stem, pid_dir=pid_dir):
            stopped.append(pid_file.stem)
    if purge:
        asyncio.run(resources.drop_databases(config))
        resources.delete_vhost(config)
        (root / "apogee.generated").unlink(missing_ok=True)
    return stopped


def stop_one(config: StackConfig, name: str) -> bool:
    """Stop one process of the running stack (a replica, to watch the others take over)."""
    pid_dir = config.directory.resolve() / "pids"
    if not (pid_dir / f"{name}.pid").exists():
        raise StackError(f"pas de processus {name} / no process named {name} in this stack")
    return processes.stop(name, pid_dir=pid_dir)
