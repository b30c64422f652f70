"""The sync's side of its tests: the merged platform in the simulator, and settings for its API."""

from __future__ import annotations

from services.enrolment_sync.settings import Settings
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle, all_functions

TOKEN = "target-token"


def merged_platform(sim: SimMoodle) -> Platform:
    """The platform the sync writes to: an administrator's token for every function, and the
    default category."""
    target = sim.add_platform("target", sitename="Target", wwwroot="http://moodle.test")
    admin = target.add_user("admin", "Admin", "User", "admin@example.edu", id=2)
    target.add_token(TOKEN, userid=admin.id, functions=all_functions())
    target.add_category("Default", id=1)
    return target


def api_settings(database_url: str) -> Settings:
    """The sync's API on the simulator (``http://sim``) and a stand-in Apogée, demo tokens, no
    schedule and no pause between two syncs of a course."""
    return Settings(
        environment="test",
        demo_tokens=True,
        database_url=database_url,
        database_create_tables=True,
        schedule_enabled=False,
        moodle_url="http://sim/target",
        apogee_url="http://apogee",
        course_sync_min_interval_seconds=0,
    )
