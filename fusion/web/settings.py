"""Settings of the pages: the signing key, who administers, the development login."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings


class WebFragment(BaseSettings):
    web_secret_key: SecretStr | None = Field(
        default=None,
        description="signs the session and CSRF cookies (16 characters or more; every replica "
        "shares it); without one the service serves no pages, its API is unchanged",
    )
    web_admins: list[str] = Field(
        default_factory=list,
        description="JSON list of users (SSO or development login names) who see the "
        "administration pages",
    )
    web_dev_login: bool = Field(
        default=False,
        description="the development login (sign in as a demo user): all-in-one mode only, "
        "refused in production",
    )
    web_dev_users: list[str] = Field(
        default_factory=list, description="JSON list of the demo users the development login offers"
    )
    web_cookie_secure: bool = Field(
        default=True, description="cookies only over HTTPS (off only for plain http on 127.0.0.1)"
    )
    web_timezone: str = Field(default="Europe/Paris", description="time zone of dates on the pages")

    @model_validator(mode="after")
    def _dev_login_outside_production(self) -> WebFragment:
        if self.web_dev_login and getattr(self, "environment", "production") == "production":
            raise ValueError("the development login is for the all-in-one mode only")
        if self.web_secret_key is not None and len(self.web_secret_key.get_secret_value()) < 16:
            raise ValueError("the pages' secret key must have at least 16 characters")
        return self
