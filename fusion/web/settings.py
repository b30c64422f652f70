"""Settings of the pages: the signing key, who administers, the development login."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings


class WebFragment(BaseSettings):
    web_secret_key: SecretStr | None = Field(
        default=None,
        description="signs the pages' cookies (session, CSRF), shared by every replica; "
        "without one the service serves no pages",
    )
    web_admins: list[str] = Field(
        default_factory=list,
        description="users (as the SSO proxy names them) who see the administration pages",
    )
    web_dev_login: bool = Field(
        default=False,
        description="a development login listing `web_dev_users` (all-in-one mode only)",
    )
    web_dev_users: list[str] = Field(
        default_factory=list, description="the users the development login offers"
    )
    web_cookie_secure: bool = Field(
        default=True, description="cookies sent over HTTPS only (off for plain local HTTP)"
    )
    web_timezone: str = Field(
        default="Europe/Paris", description="time zone of the dates the pages show"
    )

    @model_validator(mode="after")
    def _dev_login_outside_production(self) -> WebFragment:
        if self.web_dev_login and getattr(self, "environment", "production") == "production":
            raise ValueError("the development login is for the all-in-one mode only")
        if self.web_secret_key is not None and len(self.web_secret_key.get_secret_value()) < 16:
            raise ValueError("the pages' secret key must have at least 16 characters")
        return self
