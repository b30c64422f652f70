"""deploy/compose.yaml rendered by Docker Compose (`docker compose config` needs no daemon):
valid as written, with every secret from .env and the start-up order the issue asks for."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fusion.testing.paths import REPO

COMPOSE = REPO / "deploy" / "compose.yaml"
SERVICES = ("apogee_api", "identity", "migration_orchestrator", "enrolment_sync")


def _compose_command() -> list[str] | None:
    """`docker compose` (the v2 plugin) where it works, else Debian's docker-compose."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


COMMAND = _compose_command()
pytestmark = pytest.mark.skipif(
    COMMAND is None,
    reason="neither `docker compose` nor docker-compose is installed: compose.yaml not checked",
)


def _config(env_file: Path) -> subprocess.CompletedProcess[str]:
    assert COMMAND is not None
    args = [*COMMAND, "-f", str(COMPOSE), "--env-file", str(env_file)]
    return subprocess.run([*args, "config"], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """compose.yaml with .env.example, every empty value filled with a dummy one."""
    lines = (REPO / "deploy" / ".env.example").read_text().splitlines()
    filled = [f"{line}dummy-{n}" if line.endswith("=") else line for n, line in enumerate(lines)]
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    env_file.write_text("\n".join(filled) + "\n")
    result = _config(env_file)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_a_missing_secret_stops_compose_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("")
    result = _config(tmp_path / "empty.env")
    assert result.returncode != 0
    assert "in .env" in result.stderr


def test_services_wait_for_healthy_servers_and_their_migrations(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["rabbitmq"]
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["migrate-sync"]["condition"] == "service_completed_successfully"
        assert services[name]["deploy"]["replicas"] == 2
        assert services[name]["environment"]["FUSION_ENVIRONMENT"] == "production"
    assert services["worker-restore"]["command"] == ["fusion", "worker", "restore"]
    assert "worker backup" in " ".join(services["worker-backup"]["command"])
    for job in ("migrate-identity", "migrate-migrations", "migrate-sync"):
        assert "--database-url" in " ".join(services[job]["command"])


def test_only_nginx_is_a_trusted_proxy_and_the_sync_reaches_apogee_through_it(
    rendered: dict[str, Any],
) -> None:
    services = rendered["services"]
    nginx_address = services["nginx"]["networks"]["default"]["ipv4_address"]
    env = services["enrolment_sync"]["environment"]
    assert env["FUSION_TRUSTED_PROXIES"] == f'["{nginx_address}"]'
    assert env["FUSION_SYNC_APOGEE_URL"] == "http://nginx"  # the client adds /apogee/v1/
    assert "FUSION_APOGEE_DATABASE_URL" not in env  # each service reads only its own database


def test_every_mounted_file_exists(rendered: dict[str, Any]) -> None:
    for name, service in rendered["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("/"):
                assert Path(source).exists(), (name, source)
