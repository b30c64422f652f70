"""What the stack owns on the shared servers: its PostgreSQL databases, its RabbitMQ virtual
host, the synthetic Apogée in one of them, and the client tokens of its callers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from fusion.auth import hash_token, new_token
from launcher.stack.processes import StackError
from launcher.stack.topology import DATABASES, StackConfig

ROLES = ("admin", "service", "plugin")


async def create_databases(config: StackConfig) -> list[str]:
    """Create the stack's databases that do not exist yet; returns those it created."""
    connection = await asyncpg.connect(config.postgres_dsn)
    try:
        created = []
        for suffix in sorted(set(DATABASES.values())):
            name = f"{config.name}_{suffix}"
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
        return created
    finally:
        await connection.close()


async def drop_databases(config: StackConfig) -> None:
    connection = await asyncpg.connect(config.postgres_dsn)
    try:
        for suffix in sorted(set(DATABASES.values())):
            await connection.execute(
                f'DROP DATABASE IF EXISTS "{config.name}_{suffix}" WITH (FORCE)'
            )
    finally:
        await connection.close()


def prepare_apogee(config: StackConfig, marker: Path, log: Path) -> None:
    """The synthetic Apogée, generated once per database (the marker names that database)."""
    url = config.database_url("apogee_api")
    if marker.exists() and marker.read_text() == url:
        return
    command = ["sim.apogee.cli", "generate", "--scale", config.apogee_scale, "--database", url]
    run_step(command, log)
    marker.write_text(url)


def migrate(service: str, config: StackConfig, log: Path) -> None:
    """Migrations before the start, as production does (``fusion migrate``)."""
    run_step(
        ["launcher.cli", "migrate", service, "--database-url", config.database_url(service)], log
    )


def run_step(args: list[str], log: Path) -> None:
    with open(log, "ab") as out:
        result = subprocess.run(
            [sys.executable, "-m", *args], stdout=out, stderr=subprocess.STDOUT, timeout=600
        )
    if result.returncode != 0:
        raise StackError(f"`{' '.join(args[:3])}` failed; see {log}")


def rabbitmq_url(config: StackConfig) -> tuple[str, bool]:
    """The bus URL of the stack's own virtual host, and whether the stack created it.

    Without ``rabbitmqctl`` (a remote broker) the URL's own virtual host is used as it is, and
    the stack's queue prefix keeps its queues apart."""
    if shutil.which("rabbitmqctl") is None:
        return config.amqp_url, False
    user = urlsplit(config.amqp_url).username or "guest"
    listed = _rabbitmqctl("list_vhosts", "--quiet", "--no-table-headers").split()
    if config.name not in listed:
        _rabbitmqctl("add_vhost", config.name)
        _rabbitmqctl("set_permissions", "-p", config.name, user, ".*", ".*", ".*")
    parts = urlsplit(config.amqp_url)
    return urlunsplit(parts._replace(path="/" + quote(config.name, safe=""))), True


def delete_vhost(config: StackConfig) -> None:
    if shutil.which("rabbitmqctl") is not None:
        listed = _rabbitmqctl("list_vhosts", "--quiet", "--no-table-headers").split()
        if config.name in listed:
            _rabbitmqctl("delete_vhost", config.name)


def _rabbitmqctl(*args: str) -> str:
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise StackError(f"rabbitmqctl {args[0]} failed: {result.stderr.strip()[:300]}")
    return result.stdout


def issue_tokens(path: Path) -> tuple[dict[str, str], str]:
    """One token per role, kept in ``path`` (mode 0600) for the stack's users; returns the
    tokens and the ``FUSION_TOKENS`` value (their hashes) the services read."""
    tokens = {role: new_token() for role in ROLES}
    path.touch(mode=0o600)
    path.write_text(json.dumps(tokens, indent=2))
    entries = [
        {"client": f"stack-{role}", "role": role, "sha256": hash_token(tokens[role])}
        for role in ROLES
    ]
    return tokens, json.dumps(entries)
