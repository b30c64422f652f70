"""What the pages need besides the kit's web settings: the services they call for the user."""

from __future__ import annotations

from pydantic import Field, SecretStr

from fusion.web.settings import WebFragment


class PagesFragment(WebFragment):
    pages_apogee_url: str = Field(
        default="http://127.0.0.1:8000",
        description="base URL of the Apogée API (code search and validation for the "
        "course-creation form)",
    )
    pages_apogee_token: SecretStr = Field(
        default=SecretStr(""), description="a `service` token for the Apogée API"
    )
    pages_sync_url: str = Field(
        default="http://127.0.0.1:8000", description="base URL of enrolment_sync"
    )
    pages_sync_token: SecretStr = Field(
        default=SecretStr(""),
        description="a `service` token for enrolment_sync: operators' reads, registering the "
        "methods of a new course",
    )
    pages_sync_plugin_token: SecretStr = Field(
        default=SecretStr(""),
        description="a `plugin` token for what a teacher does (the sync checks they teach it)",
    )
    pages_target_platform: str = Field(
        default="target", description="the merged platform among the configured platforms"
    )
    pages_new_course_category: int = Field(
        default=1, ge=1, description="Moodle category id where new course spaces go"
    )
