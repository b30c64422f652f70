"""enrolment_sync settings: the kit's fragments under the ``FUSION_SYNC_`` prefix.

The merged platform the sync writes to is one entry of ``FUSION_SYNC_PLATFORMS`` (or the shared
``FUSION_PLATFORMS``), named by ``FUSION_SYNC_TARGET_PLATFORM``, configured like every other
platform; ``FUSION_SYNC_MOODLE_URL`` / ``_TOKEN`` remain a shorthand for that one entry.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from fusion.apogee import ApogeeFragment
from fusion.settings import ServiceSettings, TargetPlatformFragment, env_prefix

RemovalPolicy = Literal["suspend", "unenrol", "keep"]
MissingUserPolicy = Literal["report", "create"]


class Settings(ServiceSettings, ApogeeFragment, TargetPlatformFragment):
    service_name: ClassVar[str] = "enrolment_sync"
    model_config = env_prefix("sync")

    apogee_chunk_size: int = Field(
        default=2000, ge=1, le=10_000, description="codes per members:bulk request"
    )

    # Calls run in parallel only on courses whose users do not overlap (moodle.md §13).
    moodle_concurrency: int = Field(
        default=4,
        ge=1,
        le=32,
        description="Moodle calls at once (only on courses whose users do not overlap)",
    )

    user_match_field: Literal["idnumber", "username", "email"] = Field(
        default="idnumber", description="Moodle user field that holds the student's COD_ETU"
    )
    missing_users: MissingUserPolicy = Field(
        default="report",
        description="a student with no Moodle account: `report` it or `create` the account",
    )
    new_user_auth: str = Field(default="cas", description="auth plugin of created accounts")
    new_user_email_domain: str = Field(
        default="etu.example.edu", description="e-mail domain of created accounts"
    )

    # One id-only read per new course, skipped for courses whose methods all say the course was
    # created empty. Off: the sync adopts them and may later suspend them.
    leave_existing_enrolments: bool = Field(
        default=True,
        description="before a course's first sync, leave alone the students someone else "
        "already enrolled",
    )
    removal_policy: RemovalPolicy = Field(
        default="suspend",
        description="a student who left the code: `suspend`, `unenrol` or `keep` the enrolment",
    )
    max_removal_share: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="a course that would lose more than this share of the enrolments the sync "
        "made stops (unless forced)",
    )
    safeguard_min_course_size: int = Field(
        default=10,
        ge=1,
        description="below this many enrolments only emptying the course trips the safeguard",
    )

    role_ids: dict[str, int] = Field(
        default_factory=lambda: {"student": 5, "teacher": 4, "editingteacher": 3},
        description="JSON object: role shortname -> the platform's role id",
    )
    schedules: list[str] = Field(
        default_factory=lambda: ["30 2 * * *", "0 12 * * *", "0 19 * * *"],
        description="JSON list of cron expressions (server time) of the scheduled runs",
    )
    full_schedule_index: int = Field(
        default=0, description="which of `schedules` is a full run (the others are incremental)"
    )
    schedule_enabled: bool = Field(default=True, description="run the schedules in this process")
    verify_weekday: int = Field(
        default=6,
        ge=0,
        le=6,
        description="weekday (0 Monday … 6 Sunday) whose full run also "
        "checks the ledger against Moodle",
    )
    course_sync_min_interval_seconds: float = Field(
        default=60.0, ge=0, description="least time between two on-demand syncs of one course"
    )
    # When the executor dies, any replica (or the restarted process) resumes the run once the
    # lease has run out. Keep it well above the time of one batch, or a slow batch lets a second
    # replica in.
    run_lease_seconds: float = Field(
        default=300.0,
        ge=1.0,
        le=86_400.0,
        description="lease a run's executor renews at every batch",
    )
