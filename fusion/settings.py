"""Settings fragments that each service composes into its own ``Settings``.

Environment convention: ``FUSION_<SETTING>`` is shared by every service and
``FUSION_<SERVICE>_<SETTING>`` belongs to one service and wins over the shared one, e.g.
``FUSION_BUS_URL`` for all and ``FUSION_SYNC_DATABASE_URL`` for enrolment_sync alone. Both are
also read from a ``.env`` file in the working directory; the real environment wins over it.

Every field has a description: ``fusion settings`` and ``docs/settings.md`` are generated from
them (``fusion.settings_reference``), and a test fails on an undocumented one. Build settings
through ``load_settings`` (``fusion.settings_errors``): its errors name the environment variable
and never carry the value.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Environment = Literal["development", "test", "production"]
Role = Literal["admin", "service", "plugin"]
ENV_FILE = ".env"
# A field marked so must be set explicitly in production: its default only fits the all-in-one.
PRODUCTION_REQUIRED: dict[str, Any] = {"production": "required"}

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

    client: str = Field(min_length=1, max_length=100, description="who the token is for")
    role: Role = Field(description="`admin`, `service` or `plugin`")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the token, 64 lower-case hex digits (`fusion token create`)",
    )


class MoodlePlatform(BaseModel):
    """One Moodle platform: its web services and the commands that run its CLI scripts."""

    name: str = Field(pattern=r"^[a-z0-9_-]{1,32}$", description="short name, e.g. `ub1`")
    label: str = Field(default="", description="name shown to people")
    url: str = Field(pattern=r"^https?://", description="the platform's wwwroot")
    token: SecretStr = Field(description="web-service token of a user allowed the WS functions")
    max_input_vars: int = Field(
        default=5000, ge=100, description="the platform's PHP `max_input_vars`"
    )
    welcome_messages_off: bool = Field(
        default=False,
        description="Moodle 4.4+: the platform's administrator turned course welcome messages "
        'off (README "Moodle set-up")',
    )
    backup_command: str = Field(
        default="php admin/cli/backup.php --courseid={courseid} --destination={destination}",
        description="command that backs up one course (`{courseid}`, `{destination}`)",
    )
    restore_command: str = Field(
        default="php admin/cli/restore_backup.php --file={file} --categoryid={categoryid}",
        description="command that restores one backup (`{file}`, `{categoryid}`)",
    )
    remote_shell: bool = Field(
        default=False,
        description="the commands start with `ssh host`: values are quoted again for the "
        "remote shell",
    )
    cli_timeout_seconds: float = Field(
        default=4 * 3600.0, gt=0, description="longest a backup or restore may run"
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        le=32,
        description="backups running at once on this platform (its cron must keep up)",
    )


class LayeredSettings(BaseSettings):
    """Sources, first wins: arguments, the service's variables, the shared ``FUSION_`` ones, then
    the same two from ``.env``."""

    model_config = SettingsConfigDict(env_prefix="FUSION_", extra="ignore", env_file=ENV_FILE)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 — pydantic's signature
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix="FUSION_")
        shared_dotenv = DotEnvSettingsSource(settings_cls, env_prefix="FUSION_")
        return init_settings, env_settings, shared, dotenv_settings, shared_dotenv


class FusionSettings(LayeredSettings):
    """Base of every service's settings: shared ``FUSION_`` variables under the service's own."""

    service_name: ClassVar[str] = "fusion"

    environment: Environment = Field(
        default="production",
        description="`production`, `development` or `test`; production refuses demo tokens, "
        "placeholder secrets, the in-memory bus and an empty token list",
    )
    log_level: str = Field(default="INFO", description="logging level (`DEBUG` … `ERROR`)")
    log_json: bool = Field(default=True, description="JSON log lines with the correlation id")
    demo_tokens: bool = Field(
        default=False,
        description="accept the demo tokens `demo-admin`, `demo-plugin`, `demo-service` "
        "(all-in-one mode only; refused in production)",
    )
    tokens: list[ClientToken] = Field(
        default_factory=list,
        description='JSON list of `{"client", "role", "sha256"}`: the clients and the SHA-256 '
        "of their tokens (never the token)",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="JSON list of addresses or networks whose SSO user header is believed",
    )
    sso_user_header: str = Field(
        default="X-Remote-User", description="header in which the SSO proxy names the user"
    )
    acting_user_header: str = Field(
        default="X-Fusion-Acting-User",
        description="header in which a plugin names the teacher it acts for",
    )

    @model_validator(mode="after")
    def _refuse_in_production(self) -> FusionSettings:
        from fusion.settings_errors import production_refusal

        if self.environment == "production" and (reason := production_refusal(self)):
            raise ValueError(reason)
        return self


class DatabaseFragment(BaseSettings):
    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///var/fusion.db"),
        description="SQLAlchemy URL of the service's own database: "
        "`postgresql+asyncpg://user:password@host/db` or `sqlite+aiosqlite:///path`",
    )
    database_echo: bool = Field(default=False, description="log every SQL statement")
    database_pool_size: int = Field(
        default=10, ge=1, le=200, description="connections kept open (as many more on demand)"
    )
    database_create_tables: bool = Field(
        default=False,
        description="create missing tables at start (all-in-one mode and tests; production "
        "runs `fusion migrate`)",
    )


class BusFragment(BaseSettings):
    bus_url: SecretStr = Field(
        default=SecretStr("memory://"),
        description="`amqp://user:password@host:5672/vhost` (RabbitMQ) or `memory://` "
        "(in-process, refused in production)",
    )
    bus_exchange: str = Field(default="fusion.events", description="the topic exchange of events")
    bus_queue_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]{0,64}$",
        description="prefix of queue names, so that two deployments sharing a vhost never meet",
    )
    bus_prefetch: int = Field(
        default=100, ge=1, le=1000, description="unacknowledged messages per consumer"
    )
    bus_delivery_limit: int = Field(
        default=5, ge=1, le=100, description="deliveries of one message before its dead letter"
    )


class HttpClientFragment(BaseSettings):
    http_connect_timeout_seconds: float = Field(
        default=3.0, gt=0, description="connect timeout of outgoing HTTP calls"
    )
    http_read_timeout_seconds: float = Field(
        default=30.0, gt=0, description="read timeout of outgoing HTTP calls"
    )
    http_max_connections: int = Field(
        default=50, ge=1, description="outgoing HTTP connections at once"
    )


class MoodleFragment(BaseSettings):
    platforms: list[MoodlePlatform] = Field(
        default_factory=list,
        description="JSON list of the Moodle platforms (fields below, under `MoodlePlatform`)",
    )


PLATFORM_NAME = r"^[a-z0-9_-]{1,32}$"
# Shorthand field -> the field of the merged platform's entry it stands for.
_SHORTHAND = {
    "moodle_url": "url",
    "moodle_token": "token",
    "moodle_max_input_vars": "max_input_vars",
    "moodle_welcome_messages_off": "welcome_messages_off",
}


class TargetPlatformFragment(MoodleFragment):
    """A service that writes to the merged platform: one entry of ``platforms`` like the others,
    named ``target_platform``. The ``moodle_*`` fields are a shorthand for that entry, for a
    service configured with the merged platform alone; one or the other, never both."""

    target_platform: str = Field(
        default="target", pattern=PLATFORM_NAME, description="the merged platform among `platforms`"
    )
    moodle_url: str = Field(
        default="http://127.0.0.1:8000/sim/target",
        pattern=r"^https?://",
        description="shorthand for the merged platform's entry in `platforms` (give one or the "
        "other): its wwwroot",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    moodle_token: SecretStr = Field(
        default=SecretStr("target-token"),
        description="shorthand: the merged platform's web-service token",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    moodle_max_input_vars: int = Field(
        default=5000, ge=100, description="shorthand: the merged platform's PHP `max_input_vars`"
    )
    moodle_welcome_messages_off: bool = Field(
        default=False,
        description="shorthand: Moodle 4.4+ course welcome messages are off on the merged "
        'platform (README "Moodle set-up")',
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand_from_entry(cls, data: Any) -> Any:
        """An entry in ``platforms`` fills the shorthand (before any check, so production's
        sees the merged platform configured)."""
        if not isinstance(data, dict):
            return data
        name = data.get("target_platform") or cls.model_fields["target_platform"].default
        entry = next((p for p in _listed(data.get("platforms")) if _key(p, "name") == name), None)
        if entry is None:
            return data
        if given := sorted(set(_SHORTHAND) & data.keys()):
            from fusion.settings_errors import variable

            named = ", ".join(variable(cls, field) for field in ["platforms", *given])
            raise ValueError(
                f"the merged platform '{name}' is given twice ({named}): keep one of the two"
            )
        filled = {field: _key(entry, key) for field, key in _SHORTHAND.items()}
        return {**data, **{field: value for field, value in filled.items() if value is not None}}

    @model_validator(mode="after")
    def _entry_from_shorthand(self) -> TargetPlatformFragment:
        if self.target_platform in {p.name for p in self.platforms}:
            self.platforms = self.moodle_platforms()
        else:
            entry = {key: getattr(self, field) for field, key in _SHORTHAND.items()}
            self.platforms = [*self.platforms, MoodlePlatform(name=self.target_platform, **entry)]
        return self

    def moodle_platforms(self) -> list[MoodlePlatform]:
        """Every platform, the merged one as the shorthand says now."""
        update = {key: getattr(self, field) for field, key in _SHORTHAND.items()}
        return [
            p.model_copy(update=update) if p.name == self.target_platform else p
            for p in self.platforms
        ]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _key(entry: Any, key: str) -> Any:
    return entry.get(key) if isinstance(entry, dict) else getattr(entry, key, None)


class ServiceSettings(FusionSettings, DatabaseFragment, BusFragment, HttpClientFragment):
    """The usual composition: a service with its own database, the bus and HTTP clients."""


def env_prefix(service: str) -> SettingsConfigDict:
    """The ``model_config`` of a service's settings: its own prefix, unknown keys ignored."""
    return SettingsConfigDict(
        env_prefix=f"FUSION_{service.upper()}_", extra="ignore", env_file=ENV_FILE
    )
