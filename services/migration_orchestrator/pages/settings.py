"""What the pages need besides the kit's web settings: the services they call for the user."""

from __future__ import annotations

from pydantic import Field, SecretStr

from fusion.web.settings import WebFragment


class PagesFragment(WebFragment):
    # apogee_api (code search and validation for the course-creation form).
    pages_apogee_url: str = "http://127.0.0.1:8000"
    pages_apogee_token: SecretStr = SecretStr("")
    # enrolment_sync: a service token for operators' reads and for registering the methods of a
    # new course, a plugin token for what a teacher does (the service checks they teach it).
    pages_sync_url: str = "http://127.0.0.1:8000"
    pages_sync_token: SecretStr = SecretStr("")
    pages_sync_plugin_token: SecretStr = SecretStr("")
    # The merged platform among the configured platforms, and where new course spaces go.
    pages_target_platform: str = "target"
    pages_new_course_category: int = Field(default=1, ge=1)
