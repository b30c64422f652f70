"""What identity answers the orchestrator: a backup's restore-check and a person's accounts (the
migration steps), conflicts and homogenisation plans (support's pages); only the fields used."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class CheckedUser(BaseModel):
    backup_user_id: int
    username: str
    outcome: Literal["maps_to_existing", "will_be_created", "conflict"]
    target_user_id: int | None = None
    case: str | None = None
    conflict_id: int | str | None = None
    reason: str | None = None
    reason_fr: str | None = None


class CheckCounts(BaseModel):
    maps: int
    creates: int
    conflicts: int


class RestoreCheck(BaseModel):
    platform: str
    clean: bool
    counts: CheckCounts
    users: list[CheckedUser]

    def conflicts(self) -> list[CheckedUser]:
        return [user for user in self.users if user.outcome == "conflict"]


class PersonAccount(BaseModel):
    moodle_id: int
    username: str
    link_method: str = ""
    link_status: str = ""


class PersonAccounts(BaseModel):
    uid: str
    platform: str
    accounts: list[PersonAccount]
    username_held_by_another_person: bool = False


class Conflict(BaseModel):
    id: int
    kind: str
    platforms: list[str]
    accounts: list[Any]
    suggestion: str
    suggestion_fr: str
    person_id: int | None = None


class Conflicts(BaseModel):
    items: list[Conflict]
    total: int


class PlanStep(BaseModel):
    round: int
    moodle_id: int
    values: dict[str, Any]
    temporary: bool
    status: str
    message: str | None


class Plan(BaseModel):
    id: int
    platform: str
    state: str
    changes: int
    blocked: int
    applied_steps: int
    error: str | None
    approved_by: str | None
    steps: list[PlanStep] = Field(default_factory=list)
