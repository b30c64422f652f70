"""enrolment_sync settings: the kit's fragments under the ``FUSION_SYNC_`` prefix."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from fusion.settings import ServiceSettings, env_prefix

RemovalPolicy = Literal["suspend", "unenrol", "keep"]
MissingUserPolicy = Literal["report", "create"]


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "enrolment_sync"
    model_config = env_prefix("sync")

    apogee_url: str = "http://127.0.0.1:8000"
    apogee_token: SecretStr = SecretStr("demo-service")
    apogee_chunk_size: int = Field(default=2000, ge=1, le=10_000)

    moodle_url: str = "http://127.0.0.1:8000/sim/target"
    moodle_token: SecretStr = SecretStr("target-token")
    moodle_max_input_vars: int = Field(default=5000, ge=100)
    # Moodle 4.4+: the administrator turned course welcome messages off (README "Moodle set-up").
    moodle_welcome_messages_off: bool = False
    # Calls run in parallel only on courses whose users do not overlap (moodle.md §13).
    moodle_concurrency: int = Field(default=4, ge=1, le=32)

    user_match_field: Literal["idnumber", "username", "email"] = "idnumber"
    missing_users: MissingUserPolicy = "report"
    new_user_auth: str = "cas"
    new_user_email_domain: str = "etu.example.edu"

    # Read a course's roster before its first sync and leave alone students someone else
    # already enrolled (one id-only read per new course, skipped for courses whose methods all
    # say the course was created empty). Off: the sync adopts them and may later suspend them.
    leave_existing_enrolments: bool = True
    removal_policy: RemovalPolicy = "suspend"
    # A course that would lose more than this share of the enrolments we made stops (unless forced).
    max_removal_share: float = Field(default=0.3, ge=0.0, le=1.0)
    # Below this many enrolments only emptying the course trips the safeguard.
    safeguard_min_course_size: int = Field(default=10, ge=1)

    role_ids: dict[str, int] = Field(
        default_factory=lambda: {"student": 5, "teacher": 4, "editingteacher": 3}
    )
    # Night, noon and end of day (server time).
    schedules: list[str] = Field(default_factory=lambda: ["30 2 * * *", "0 12 * * *", "0 19 * * *"])
    full_schedule_index: int = 0
    schedule_enabled: bool = True
    verify_weekday: int = Field(default=6, ge=0, le=6)  # Sunday's full run checks the ledger
    course_sync_min_interval_seconds: float = Field(default=60.0, ge=0)
    # A run's executor renews its lease at every batch; when it dies, any replica (or the
    # restarted process) resumes the run once the lease has run out, within one more lease.
    # Keep it well above the time of one batch, or a slow batch lets a second replica in.
    run_lease_seconds: float = Field(default=300.0, ge=1.0, le=86_400.0)
