"""The simulator's state: several Moodle platforms in one process, with call and row counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from sim.moodle.faults import Faults
from sim.moodle.platform import Platform, SiteInfo
from sim.moodle.registry import FUNCTIONS
from sim.moodle.releases import MOODLE_41, Release


class FunctionCount(TypedDict):
    calls: int
    rows: int


@dataclass
class SimMoodle:
    platforms: dict[str, Platform] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)  # armed by fault tests (faults.py)

    def add_platform(
        self,
        name: str,
        *,
        sitename: str,
        wwwroot: str,
        max_input_vars: int = 5000,
        release: Release = MOODLE_41,
    ) -> Platform:
        site = SiteInfo(
            sitename,
            wwwroot,
            profile=release,
            site_identifier=f"sim-{name}",
            max_input_vars=max_input_vars,
        )
        platform = Platform(name, site)
        self.platforms[name] = platform
        return platform

    def __getitem__(self, name: str) -> Platform:
        return self.platforms[name]

    def counters(self, platform: str) -> dict[str, FunctionCount]:
        target = self.platforms[platform]
        return {
            name: FunctionCount(calls=calls, rows=target.rows[name])
            for name, calls in sorted(target.calls.items())
        }

    def reset_counters(self) -> None:
        for platform in self.platforms.values():
            platform.calls.clear()
            platform.rows.clear()


def all_functions() -> tuple[str, ...]:
    """Every function the simulator implements: the demo tokens' service."""
    import sim.moodle.functions  # noqa: F401  registers the WS functions

    return tuple(sorted(FUNCTIONS))
