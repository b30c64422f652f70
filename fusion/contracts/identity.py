"""Identity: a directory or platform import finished, a homogenisation plan applied or reverted."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from fusion.contracts.envelope import PLATFORM_PATTERN, Event


class IdentityImportFinished(Event):
    type: ClassVar[str] = "identity.import_finished"

    import_id: int
    source: Literal["moodle_ws", "moodle_csv", "ldap", "ldif", "directory_csv"]
    platform: str | None = Field(default=None, pattern=PLATFORM_PATTERN)
    state: Literal["done", "failed"]
    created: int
    updated: int
    unchanged: int


class IdentityPlanApplied(Event):
    type: ClassVar[str] = "identity.plan_applied"

    plan_id: int
    platform: str = Field(pattern=PLATFORM_PATTERN)
    applied_steps: int
    refused_steps: int


class IdentityPlanReverted(Event):
    type: ClassVar[str] = "identity.plan_reverted"

    plan_id: int
    platform: str = Field(pattern=PLATFORM_PATTERN)
    restored_steps: int
