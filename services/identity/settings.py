"""identity settings: the kit's fragments under the ``FUSION_IDENTITY_`` prefix."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from fusion.settings import MoodleFragment, ServiceSettings, env_prefix


class Settings(ServiceSettings, MoodleFragment):
    service_name: ClassVar[str] = "identity"
    model_config = env_prefix("IDENTITY")

    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///var/identity.db"),
        description="SQLAlchemy URL of identity's database (`postgresql+asyncpg://...`)",
    )
    target_platform: str = Field(
        default="target",
        pattern=r"^[a-z0-9_-]{1,32}$",
        description="The merged platform: restore blockers are computed against its accounts",
    )
    site_identifier_hashes: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object platform → md5 of its `$CFG->siteidentifier`, to recognise a "
        "same-site backup by its original_site_identifier_hash (a backup from the platform "
        "itself is also recognised by its source platform)",
    )
    ldap_url: str = Field(
        default="",
        description="Reference directory (`ldaps://host:636`); empty: load LDIF or CSV files",
    )
    ldap_bind_dn: str = Field(default="", description="DN the directory is read as")
    ldap_password: SecretStr = Field(
        default=SecretStr(""), description="Password of the directory's bind DN"
    )
    ldap_base_dn: str = Field(default="", description="Search base of the persons' entries")
    ldap_filter: str = Field(default="(uid=*)", description="LDAP filter of the persons' entries")
    ldap_page_size: int = Field(
        default=500, ge=1, le=10_000, description="Entries per page of the paged LDAP search"
    )
    ws_page_size: int = Field(
        default=500, ge=1, le=5000, description="Accounts per Moodle WS read when loading"
    )
    plan_batch_size: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Rows per core_user_update_users call: each call applies row by row, so a "
        "small batch loses nothing on a refusal but keeps the number of calls reasonable",
    )
    job_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A running import or plan renews its lease every third of this; a job "
        "whose process stopped renewing it is resumed by another replica (or at the next "
        "start) once it ran out, looked for every half of it",
    )
    max_import_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest CSV/LDIF file accepted for import"
    )
