"""Settings fragments that each service composes into its own ``Settings``.

Environment convention: ``FUSION_<SETTING>`` is shared by every service and
``FUSION_<SERVICE>_<SETTING>`` belongs to one service and wins over the shared one, e.g.
``FUSION_BUS_URL`` for all and ``FUSION_SYNC_DATABASE_URL`` for enrolment_sync alone.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Environment = Literal["development", "test", "production"]
Role = Literal["admin", "service", "plugin"]

DEMO_TOKENS: dict[str, Role] = {
    "demo-admin": "admin",
    "demo-plugin": "plugin",
    "demo-service": "service",
}
# Secrets that ship as defaults for the all-in-one mode (ours and the Moodle simulator's).
PLACEHOLDER_SECRETS = frozenset(
    {*DEMO_TOKENS, "ub1-token", "ub2-token", "ub4-token", "target-token", "valid-token"}
)


class ClientToken(BaseModel):
    """A client allowed to call Fusion: only the SHA-256 of its token is ever stored."""

    client: str = Field(min_length=1, max_length=100)
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class MoodlePlatform(BaseModel):
    """One Moodle platform: its web services and the commands that run its CLI scripts."""

    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    label: str = ""
    url: str = Field(pattern=r"^https?://")
    token: SecretStr
    max_input_vars: int = Field(default=5000, ge=100)
    # Moodle 4.4+: its administrator turned course welcome messages off (README "Moodle set-up").
    welcome_messages_off: bool = False
    backup_command: str = (
        "php admin/cli/backup.php --courseid={courseid} --destination={destination}"
    )
    restore_command: str = (
        "php admin/cli/restore_backup.php --file={file} --categoryid={categoryid}"
    )
    # The commands start with ``ssh host``: values are quoted again for the remote shell.
    remote_shell: bool = False
    cli_timeout_seconds: float = Field(default=4 * 3600.0, gt=0)
    # Backups running at once on this platform (its cron must keep up).
    concurrency: int = Field(default=1, ge=1, le=32)


class FusionSettings(BaseSettings):
    """Base of every service's settings: shared ``FUSION_`` variables under the service's own."""

    service_name: ClassVar[str] = "fusion"
    model_config = SettingsConfigDict(env_prefix="FUSION_", extra="ignore")

    environment: Environment = "production"
    log_level: str = "INFO"
    log_json: bool = True
    demo_tokens: bool = False
    tokens: list[ClientToken] = Field(default_factory=list)
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    sso_user_header: str = "X-Remote-User"
    acting_user_header: str = "X-Fusion-Acting-User"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix="FUSION_")
        return init_settings, env_settings, shared, dotenv_settings, file_secret_settings

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> FusionSettings:
        if self.environment != "production":
            return self
        if self.demo_tokens:
            raise ValueError(
                "demo tokens are for the all-in-one development mode only; "
                "set FUSION_TOKENS with hashed tokens instead"
            )
        placeholders = sorted(
            name
            for name, value in self
            if isinstance(value, SecretStr) and value.get_secret_value() in PLACEHOLDER_SECRETS
        )
        if placeholders:
            raise ValueError(
                f"placeholder secrets are refused in production: set {', '.join(placeholders)}"
            )
        return self


class DatabaseFragment(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///var/fusion.db"
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # Only the all-in-one mode and tests create tables; production runs `fusion migrate`.
    database_create_tables: bool = False


class BusFragment(BaseSettings):
    bus_url: SecretStr = SecretStr("memory://")
    bus_exchange: str = "fusion.events"
    # Queue names are per deployment: two Fusions (or test runs) sharing a vhost must not meet.
    bus_queue_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,64}$")
    bus_prefetch: int = Field(default=100, ge=1, le=1000)
    bus_delivery_limit: int = Field(default=5, ge=1, le=100)


class HttpClientFragment(BaseSettings):
    http_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    http_read_timeout_seconds: float = Field(default=30.0, gt=0)
    http_max_connections: int = Field(default=50, ge=1)


class MoodleFragment(BaseSettings):
    platforms: list[MoodlePlatform] = Field(default_factory=list)


class ServiceSettings(FusionSettings, DatabaseFragment, BusFragment, HttpClientFragment):
    """The usual composition: a service with its own database, the bus and HTTP clients."""


def env_prefix(service: str) -> SettingsConfigDict:
    """The ``model_config`` of a service's settings: its own prefix, unknown keys ignored."""
    return SettingsConfigDict(env_prefix=f"FUSION_{service.upper()}_", extra="ignore")
