"""The WS functions the simulator implements, and the call context they run in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.moodle.entities import Token, User
from sim.moodle.params import Single
from sim.moodle.platform import Platform
from sim.moodle.ws_errors import no_permission


@dataclass
class Call:
    platform: Platform
    token: Token

    @property
    def user(self) -> User:
        return self.platform.users[self.token.userid]

    def require(self, capability: str, courseid: int | None = None) -> None:
        """Site admins (capabilities None) pass; others need the capability in a role."""
        if self.token.capabilities is None or capability in self.token.capabilities:
            return
        if courseid is not None:
            roles = self.platform.courses[courseid].roles.get(self.token.userid, set())
            for roleid, _ in roles:
                granted = self.platform.roles[roleid].capabilities
                if "*" in granted or capability in granted:
                    return
        raise no_permission(capability)


Handler = Callable[[Call, dict[str, Any]], Any]


@dataclass(frozen=True)
class WsFunction:
    name: str
    params: Single
    handler: Handler
    rows_key: str | None = None  # the array whose length counts as "rows" in the counters
    transactional: bool = True
    version: str = "2022112813.01"


FUNCTIONS: dict[str, WsFunction] = {}

# Functions that exist in Moodle 4.1 but that the simulator does not implement: a token whose
# service lacks them gets accessexception, as on a real site, instead of invalidrecord.
OTHER_MOODLE_FUNCTIONS = frozenset(
    {
        "core_group_delete_groups",
        "core_enrol_unenrol_user_enrolment",
        "core_cohort_create_cohorts",
        "core_role_assign_roles",
    }
)


def ws_function(
    name: str,
    params: Single,
    *,
    rows_key: str | None = None,
    transactional: bool = True,
    version: str = "2022112813.01",
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        FUNCTIONS[name] = WsFunction(name, params, handler, rows_key, transactional, version)
        return handler

    return register


def known_to_moodle(name: str) -> bool:
    return name in FUNCTIONS or name in OTHER_MOODLE_FUNCTIONS
