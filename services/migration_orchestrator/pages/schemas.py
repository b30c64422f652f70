"""What the pages read from enrolment_sync: only the fields they show (identity's answers are
the orchestrator's, ``clients.identity_answers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Method(BaseModel):
    id: int
    course_id: int
    code: str
    year: int | None
    role: str
    groups: bool


class Methods(BaseModel):
    data: list[Method]


class Run(BaseModel):
    id: int
    kind: str
    trigger: str
    course_id: int | None
    dry_run: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = Field(default_factory=dict)
    error: str | None = None


class Runs(BaseModel):
    data: list[Run]


class RunCourse(BaseModel):
    course_id: int
    status: str
    adds: int
    reactivations: int
    removals: int
    group_adds: int
    group_removals: int
    groups_created: int
    failed: int
    missing_users: int
    reason: str | None
    reason_fr: str | None
    errors: list[dict[str, Any]]


class RunCourses(BaseModel):
    data: list[RunCourse]
    count: int


class CourseResult(BaseModel):
    run: Run
    result: RunCourse


class CourseResults(BaseModel):
    data: list[CourseResult]
