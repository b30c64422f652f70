"""API schemas of /migrations/v1/ (tables stay in models.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fusion.contracts import PLATFORM_PATTERN

CODE_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
MAX_CODES = 20


class MigrationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source_platform": "ub1",
                    "source_course_id": 12,
                    "target_category_id": 2,
                    "fullname": "Algèbre linéaire (L1)",
                    "shortname": "L1-ALGLIN",
                    "apogee_codes": ["UEMATH1"],
                }
            ]
        },
    )

    source_platform: str = Field(pattern=PLATFORM_PATTERN)
    source_course_id: int = Field(gt=1, le=2**31 - 1, description="1 is the site course")
    target_category_id: int = Field(gt=0, le=2**31 - 1)
    fullname: str | None = Field(default=None, min_length=1, max_length=254)
    shortname: str | None = Field(default=None, min_length=1, max_length=100)
    visible: bool = True
    apogee_codes: list[str] = Field(default_factory=list, max_length=MAX_CODES)
    waive_codes: bool = Field(default=False, description="administrators only")
    with_users: bool = True
    teachers: list[str] = Field(
        default_factory=list, max_length=50, description="usernames to enrol as teachers"
    )


class TransitionPublic(BaseModel):
    from_state: str | None
    to_state: str
    cause: str
    cause_fr: str | None
    reason: str | None
    reason_fr: str | None
    at: datetime


class LogPublic(BaseModel):
    step: str
    level: str
    message: str
    message_fr: str | None
    details: dict[str, Any] | None
    at: datetime


class MigrationPublic(BaseModel):
    id: int
    source_platform: str
    source_course_id: int
    source_shortname: str | None
    source_fullname: str | None
    target_category_id: int
    fullname: str | None
    shortname: str | None
    visible: bool
    apogee_codes: list[str]
    codes_waived: bool
    state: str
    state_label_fr: str
    step: str | None
    reason: str | None
    reason_fr: str | None
    blocker: dict[str, Any] | None
    attempts: int
    priority: int
    batch_id: str | None
    requested_by: str
    authorised_as: str
    target_course_id: int | None
    created_at: datetime
    updated_at: datetime


class MigrationDetail(MigrationPublic):
    evidence: dict[str, Any]
    history: list[TransitionPublic]
    logs: list[LogPublic]


class MigrationsPublic(BaseModel):
    total: int
    items: list[MigrationPublic]


class RefusedLine(BaseModel):
    line: int
    message: str
    message_fr: str


class BatchReport(BaseModel):
    batch_id: str
    accepted: int
    existing: int
    refused: list[RefusedLine]
    migration_ids: list[int]
