"""Identity: a directory or platform import finished, a homogenisation plan applied or reverted,
and every move of an import or a plan along its lifecycle."""

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


class IdentityImportStateChanged(Event):
    """An import moved along its lifecycle (written with the import's history row)."""

    type: ClassVar[str] = "identity_import.state_changed"

    import_id: int
    previous_state: str | None
    state: str
    cause: str = Field(max_length=500)
    attempts: int = Field(default=0, ge=0)


class IdentityPlanStateChanged(Event):
    """A homogenisation plan moved along its lifecycle (written with its history row)."""

    type: ClassVar[str] = "identity_plan.state_changed"

    plan_id: int
    platform: str = Field(pattern=PLATFORM_PATTERN)
    previous_state: str | None
    state: str
    cause: str = Field(max_length=500)
    attempts: int = Field(default=0, ge=0)
