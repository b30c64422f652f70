"""identity settings: the kit's fragments under the ``FUSION_IDENTITY_`` prefix."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from fusion.settings import MoodleFragment, ServiceSettings, env_prefix


class Settings(ServiceSettings, MoodleFragment):
    service_name: ClassVar[str] = "identity"
    model_config = env_prefix("IDENTITY")

    database_url: str = "sqlite+aiosqlite:///var/identity.db"
    # The merged platform: restore blockers are computed against its accounts.
    target_platform: str = Field(default="target", pattern=r"^[a-z0-9_-]{1,32}$")
    # md5 of each platform's $CFG->siteidentifier, to recognise a same-site backup by its
    # original_site_identifier_hash (moodle.md §9); a backup from the platform itself is also
    # recognised by its source_platform.
    site_identifier_hashes: dict[str, str] = Field(default_factory=dict)

    ldap_url: str = ""  # empty: no live directory, load LDIF or CSV files instead
    ldap_bind_dn: str = ""
    ldap_password: SecretStr = SecretStr("")
    ldap_base_dn: str = ""
    ldap_filter: str = "(uid=*)"
    ldap_page_size: int = Field(default=500, ge=1, le=10_000)

    ws_page_size: int = Field(default=500, ge=1, le=5000)
    # Rows per core_user_update_users call: each call applies row by row, so a small batch
    # loses nothing on a refusal but keeps the number of calls reasonable.
    plan_batch_size: int = Field(default=50, ge=1, le=1000)
    max_import_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
