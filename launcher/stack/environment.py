"""The environment each process of the stack reads: what production would set, pointed at this
machine (the local servers, the simulator for the platforms, nginx for service-to-service)."""

from __future__ import annotations

import json
import secrets as random
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from launcher.registry import SERVICES

if TYPE_CHECKING:
    from launcher.stack.topology import StackConfig

PLATFORM_TOKENS = {
    "ub1": "ub1-token",
    "ub2": "ub2-token",
    "ub4": "ub4-token",
    "target": "target-token",
}
HISTORICAL = ("ub1", "ub2", "ub4")
DEV_USERS = ["prof1", "prof2", "prof3", "prof4", "prof5", "support"]


@dataclass(frozen=True)
class StackSecrets:
    """The stack's own: callers' tokens (their hashes in ``FUSION_TOKENS``), a cookie key."""

    bus_url: str
    token_hashes: str
    service_token: str
    plugin_token: str
    web_key: str = field(default_factory=lambda: random.token_urlsafe(32))


def _shared(config: StackConfig, secrets: StackSecrets) -> dict[str, str]:
    return {
        # The simulator's tokens are the documented demo ones, which production mode refuses.
        "FUSION_ENVIRONMENT": "development",
        "FUSION_TOKENS": secrets.token_hashes,
        "FUSION_BUS_URL": secrets.bus_url,
        "FUSION_BUS_QUEUE_PREFIX": f"{config.name}.",
    }


def service_env(
    service: str, config: StackConfig, secrets: StackSecrets, sim_port: int
) -> dict[str, str]:
    prefix = SERVICES[service].settings_class().model_config.get("env_prefix", "FUSION_")
    own = {"DATABASE_URL": config.database_url(service)}
    if service != "apogee_api" and SERVICES[service].migrations_dir() is None:
        # Until this service ships Alembic migrations (`fusion migrate` has none to run), it
        # creates its tables at start, as in the all-in-one mode.
        own["DATABASE_CREATE_TABLES"] = "true"
    if service in ("identity", "enrolment_sync"):
        own["PLATFORMS"] = json.dumps(sim_platforms(sim_port))
    if service == "migration_orchestrator":
        own |= _orchestrator(config, secrets, sim_port)
    if service == "enrolment_sync":
        own |= {
            # Through nginx, as in production: the sync sees apogee_api's replicas fail over.
            "APOGEE_URL": config.base_url,
            "APOGEE_TOKEN": secrets.service_token,
            "TARGET_PLATFORM": "target",
            # The simulated target holds no student accounts: the sync creates them (CAS).
            "MISSING_USERS": "create",
            # Runs are started through the API; no run at 12:00 in the middle of a test.
            "SCHEDULE_ENABLED": "false",
        }
    return _shared(config, secrets) | {f"{prefix}{key}": value for key, value in own.items()}


def _orchestrator(config: StackConfig, secrets: StackSecrets, sim_port: int) -> dict[str, str]:
    through_nginx = {"URL": config.base_url, "TOKEN": secrets.service_token}
    return {
        "PLATFORMS": json.dumps(sim_platforms(sim_port)),
        "TARGET_PLATFORM": "target",
        "STORE_DIR": str(config.directory.resolve() / "backups"),
        **{f"APOGEE_{key}": value for key, value in through_nginx.items()},
        **{f"IDENTITY_{key}": value for key, value in through_nginx.items()},
        **{f"PAGES_APOGEE_{key}": value for key, value in through_nginx.items()},
        **{f"PAGES_SYNC_{key}": value for key, value in through_nginx.items()},
        "PAGES_SYNC_PLUGIN_TOKEN": secrets.plugin_token,
        # No SSO in front of the stack: the development sign-in, as in the all-in-one mode.
        "WEB_SECRET_KEY": secrets.web_key,
        "WEB_DEV_LOGIN": "true",
        "WEB_DEV_USERS": json.dumps(DEV_USERS),
        "WEB_ADMINS": json.dumps(["support"]),
        "WEB_COOKIE_SECURE": "false",
    }


def worker_env(
    name: str, config: StackConfig, secrets: StackSecrets, sim_port: int
) -> dict[str, str]:
    own = {
        "ORCHESTRATOR_URL": config.base_url,
        "ORCHESTRATOR_TOKEN": secrets.service_token,
        "NAME": name,
        "WORK_DIR": str(config.directory.resolve() / "workers" / name),
        "PLATFORMS": json.dumps(sim_platforms(sim_port)),
        "TARGET_PLATFORM": "target",
    }
    return _shared(config, secrets) | {f"FUSION_WORKER_{key}": value for key, value in own.items()}


def sim_platforms(sim_port: int) -> list[dict[str, object]]:
    """The simulator's platforms, its CLI stand-ins in place of Moodle's own scripts."""
    sim_url = f"http://127.0.0.1:{sim_port}"
    platforms = []
    for name, token in PLATFORM_TOKENS.items():
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
                # The simulated 4.5 target is set up without course welcome messages.
                "welcome_messages_off": name == "target",
            }
        )
    return platforms
