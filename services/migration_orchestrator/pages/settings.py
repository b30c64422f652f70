"""What the pages need besides the kit's web settings: the services they call for the user."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from fusion.web.settings import WebFragment

_LOCAL = "http://127.0.0.1:8000"


class PagesFragment(WebFragment):
    pages_apogee_url: str = Field(
        default=_LOCAL, description="apogee_api's base URL (code search for the course form)"
    )
    pages_apogee_token: SecretStr = Field(
        default=SecretStr(""), description="a service token of apogee_api, for the pages"
    )
    pages_sync_url: str = Field(default=_LOCAL, description="enrolment_sync's base URL")
    pages_sync_token: SecretStr = Field(
        default=SecretStr(""),
        description="a service token of enrolment_sync: support's reads, a new course's methods",
    )
    pages_sync_plugin_token: SecretStr = Field(
        default=SecretStr(""),
        description="a plugin token of enrolment_sync: what a teacher does, checked by the service",
    )
    pages_identity_url: str = Field(default=_LOCAL, description="identity's base URL")
    pages_identity_token: SecretStr = Field(
        default=SecretStr(""),
        description="an administrator token of identity: conflicts and plans for support",
    )
    pages_target_platform: str = Field(
        default="target", description="the merged platform among `platforms`"
    )
    pages_new_course_category: int = Field(
        default=1, ge=1, description="Moodle category of the course spaces the pages create"
    )

    @model_validator(mode="after")
    def _tokens_when_served(self) -> PagesFragment:
        if self.web_secret_key is None:
            return self
        missing = [
            name.upper()
            for name in ("pages_apogee_token", "pages_sync_token", "pages_sync_plugin_token")
            if not getattr(self, name).get_secret_value()
        ]
        if missing:
            raise ValueError(f"the pages are served: set {', '.join(missing)}")
        return self
