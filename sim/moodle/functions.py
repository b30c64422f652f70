"""Importing this module registers every WS function the simulator implements."""

from sim.moodle import ws_courses, ws_enrol, ws_groups, ws_housekeeping, ws_users
from sim.moodle.registry import FUNCTIONS

__all__ = ["FUNCTIONS", "ws_courses", "ws_enrol", "ws_groups", "ws_housekeeping", "ws_users"]
