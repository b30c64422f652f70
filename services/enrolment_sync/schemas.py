"""API schemas of enrolment_sync (tables stay in models.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fusion.bodies import RequestBody
from fusion.contracts import APOGEE_CODE_PATTERN, EnrolmentRole

APOGEE_CODE = APOGEE_CODE_PATTERN
# Ids and offsets are stored in 32-bit integer columns: a larger one is refused up front.
MAX_DB_INT = 2_147_483_647


class MethodCreate(RequestBody):
    course_id: int = Field(gt=0, le=MAX_DB_INT, description="Moodle id of the target course")
    code: str = Field(pattern=APOGEE_CODE, examples=["UE1BIO"])
    year: int | None = Field(default=None, ge=1990, le=2200, description="null: current year")
    role: EnrolmentRole = "student"
    groups: bool = True
    course_created_empty: bool = Field(
        default=False,
        description="the course was created empty by Fusion (the course-creation form): its "
        "first sync skips reading the enrolments others made, as there are none",
    )


class MethodPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    course_id: int
    code: str
    year: int | None
    role: str
    groups: bool
    course_created_empty: bool
    source: str
    created_at: datetime


class MethodsPublic(BaseModel):
    data: list[MethodPublic]
    count: int


class MetaLinkCreate(RequestBody):
    parent_course_id: int = Field(
        gt=0, le=MAX_DB_INT, description="course whose enrolments flow out"
    )
    child_course_id: int = Field(gt=0, le=MAX_DB_INT, description="course that receives them")
    in_moodle: bool = Field(default=True, description="Moodle holds it as an enrol_meta instance")


class MetaLinkPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_course_id: int
    child_course_id: int
    in_moodle: bool
    source: str


class MetaLinksPublic(BaseModel):
    data: list[MetaLinkPublic]
    count: int
    cycles: list[list[int]] = Field(description="courses caught in a cycle: reported, not followed")


class RunCreate(RequestBody):
    kind: Literal["full", "incremental"] = "incremental"
    dry_run: bool = False
    force: bool = Field(default=False, description="apply even where the safeguard would stop")
    verify: bool = Field(default=False, description="check the ledger against Moodle first")


class CourseSyncRequest(RequestBody):
    dry_run: bool = False
    force: bool = False


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    trigger: str
    course_id: int | None
    dry_run: bool
    forced: bool
    verify: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    batches_planned: int
    batches_applied: int
    counts: dict[str, int]
    warnings: list[dict[str, Any]]
    error: str | None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class RunCoursePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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


class RunCoursesPublic(BaseModel):
    data: list[RunCoursePublic]
    count: int


class CourseResultPublic(BaseModel):
    """One run's result in one course, with the run it belongs to (a teacher's "last sync")."""

    run: RunPublic
    result: RunCoursePublic


class CourseResultsPublic(BaseModel):
    data: list[CourseResultPublic]
    count: int
