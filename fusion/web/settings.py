"""Settings of the pages: the signing key, who administers, the development login."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings


class WebFragment(BaseSettings):
    # Signs the session and CSRF cookies; every replica must share it. Without one the service
    # serves no pages (its API is unchanged).
    web_secret_key: SecretStr | None = None
    # Users (SSO or development login names) who see the administration pages.
    web_admins: list[str] = Field(default_factory=list)
    # The development login (a list of demo users to sign in as): all-in-one mode only.
    web_dev_login: bool = False
    web_dev_users: list[str] = Field(default_factory=list)
    web_cookie_secure: bool = True
    web_timezone: str = "Europe/Paris"

    @model_validator(mode="after")
    def _dev_login_outside_production(self) -> WebFragment:
        if self.web_dev_login and getattr(self, "environment", "production") == "production":
            raise ValueError("the development login is for the all-in-one mode only")
        if self.web_secret_key is not None and len(self.web_secret_key.get_secret_value()) < 16:
            raise ValueError("the pages' secret key must have at least 16 characters")
        return self
