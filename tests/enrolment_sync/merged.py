"""The sync's side of its tests: the merged platform in the simulator, settings for its API and
the demo tokens' headers."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from services.enrolment_sync.settings import Settings
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle, all_functions

TOKEN = "target-token"
# the demo tokens' headers (``demo_tokens``): an operator, a service, a Moodle plugin
ADMIN = {"Authorization": "Bearer demo-admin"}
SERVICE = {"Authorization": "Bearer demo-service"}
PLUGIN = {"Authorization": "Bearer demo-plugin"}
TEACHER = {**PLUGIN, "X-Fusion-Acting-User": "prof1"}  # a plugin, acting for prof1
STUDENTS = [f"2191{n:04d}" for n in range(5)]  # the API tests' students


def merged_platform(sim: SimMoodle) -> Platform:
    """The platform the sync writes to: an administrator's token for every function, and the
    default category."""
    target = sim.add_platform("target", sitename="Target", wwwroot="http://moodle.test")
    admin = target.add_user("admin", "Admin", "User", "admin@example.edu", id=2)
    target.add_token(TOKEN, userid=admin.id, functions=all_functions())
    target.add_category("Default", id=1)
    return target


def api_settings(database_url: str | SecretStr, **overrides: Any) -> Settings:
    """The sync's API on the simulator (``http://sim``) and a stand-in Apogée, demo tokens and
    no schedule; ``overrides``: other settings of the test."""
    values: dict[str, Any] = {
        "environment": "test",
        "demo_tokens": True,
        "database_url": database_url,
        "database_create_tables": True,
        "schedule_enabled": False,
        "moodle_url": "http://sim/target",
        "apogee_url": "http://apogee",
    }
    return Settings(**(values | overrides))
