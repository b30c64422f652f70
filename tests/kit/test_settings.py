import hashlib
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from fusion.settings import ClientToken, MoodlePlatform
from fusion.settings_errors import InvalidSettings, database_settings, load_settings
from fusion.settings_reference import markdown, undocumented
from fusion.testing.paths import REPO
from launcher.registry import settings_classes
from services.enrolment_sync.settings import Settings as SyncSettings
from services.identity.settings import Settings as IdentitySettings
from services.migration_orchestrator.preflight.archive import ArchiveLimits
from services.migration_orchestrator.settings import Settings as MigrationSettings

A_TOKEN = "Zq8mW3xV7cN1bT5yK9pL2rF6hJ4dS0gA"  # 32 characters, any 12 of which must never show
A_DIGEST = "a" * 64


def _production(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    entry = {"client": "ub1", "role": "plugin", "sha256": A_DIGEST}
    monkeypatch.setenv("FUSION_ENVIRONMENT", "production")
    monkeypatch.setenv("FUSION_TOKENS", json.dumps([entry]))
    monkeypatch.setenv("FUSION_BUS_URL", "amqp://fusion:secret@127.0.0.1:5672/fusion")
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def _windows(secret: str, size: int = 12) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def test_service_variable_wins_over_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FUSION_IDENTITY_LOG_LEVEL", "DEBUG")
    assert IdentitySettings(environment="test").log_level == "DEBUG"
    assert MigrationSettings(environment="test").log_level == "WARNING"


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_MIGRATIONS_DATABASE_URL", "postgresql+asyncpg://h/migrations")
    migrations = MigrationSettings(environment="test").database_url
    assert migrations.get_secret_value() == "postgresql+asyncpg://h/migrations"
    assert "migrations" not in str(migrations)  # a secret: its repr is masked
    assert (
        IdentitySettings(environment="test").database_url.get_secret_value().endswith("identity.db")
    )


def test_a_dotenv_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "FUSION_LOG_LEVEL=ERROR\nFUSION_IDENTITY_BUS_EXCHANGE=from.dotenv\n"
    )
    assert IdentitySettings(environment="test").log_level == "ERROR"
    assert IdentitySettings(environment="test").bus_exchange == "from.dotenv"
    monkeypatch.setenv("FUSION_LOG_LEVEL", "DEBUG")
    assert IdentitySettings(environment="test").log_level == "DEBUG"


def test_tokens_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = f'{{"client": "ub1", "role": "plugin", "sha256": "{A_DIGEST}"}}'
    monkeypatch.setenv("FUSION_TOKENS", f"[{entry}]")
    assert IdentitySettings(environment="test").tokens[0].client == "ub1"


def test_errors_name_the_variable_in_one_line_and_never_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "FUSION_TOKENS", f'[{{"client": "ub1", "role": "plugin", "sha256": "{A_TOKEN}"}}]'
    )
    with pytest.raises(InvalidSettings) as refused:
        load_settings(IdentitySettings, environment="test")
    assert refused.value.message.startswith("invalid settings: FUSION_TOKENS[0].sha256: ")
    assert "\n" not in refused.value.message
    assert not any(
        part in refused.value.message + refused.value.message_fr for part in _windows(A_TOKEN)
    )


def test_tokens_that_are_not_json_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_TOKENS", "abc")
    with pytest.raises(InvalidSettings, match=r"^invalid settings: FUSION_TOKENS: not valid JSON$"):
        load_settings(IdentitySettings, environment="test")


def test_a_service_variable_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_SYNC_MAX_REMOVAL_SHARE", A_TOKEN)
    with pytest.raises(InvalidSettings) as refused:
        load_settings(SyncSettings, environment="test")
    assert "FUSION_SYNC_MAX_REMOVAL_SHARE: " in refused.value.message
    assert A_TOKEN[:12] not in refused.value.message


def test_production_refuses_placeholders_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(monkeypatch)
    with pytest.raises(InvalidSettings) as refused:
        load_settings(SyncSettings)
    message = refused.value.message
    for name in ("SYNC_APOGEE_TOKEN", "SYNC_APOGEE_URL", "SYNC_MOODLE_TOKEN", "SYNC_MOODLE_URL"):
        assert f"FUSION_{name}" in message
    settings = load_settings(
        SyncSettings,
        apogee_url="https://fusion.univ.example/",
        apogee_token=A_TOKEN,
        moodle_url="https://moodle.univ.example",
        moodle_token="another-real-one",
    )
    assert settings.moodle_token.get_secret_value() == "another-real-one"


def test_production_refuses_the_memory_bus_and_an_empty_token_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FUSION_ENVIRONMENT", "production")
    with pytest.raises(InvalidSettings) as refused:
        load_settings(IdentitySettings)
    assert "FUSION_TOKENS is empty" in refused.value.message
    assert "FUSION_BUS_URL: the in-memory bus" in refused.value.message


@pytest.mark.parametrize("demo", ["demo-admin", "demo-plugin", "demo-service", "target-token"])
def test_production_refuses_a_demo_token_s_hash(monkeypatch: pytest.MonkeyPatch, demo: str) -> None:
    _production(monkeypatch)
    digest = hashlib.sha256(demo.encode()).hexdigest()
    monkeypatch.setenv(
        "FUSION_TOKENS", json.dumps([{"client": "x", "role": "admin", "sha256": digest}])
    )
    with pytest.raises(
        InvalidSettings, match="FUSION_TOKENS: the entries of x hold the hash of a demo"
    ):
        load_settings(IdentitySettings)


def test_production_refuses_a_platform_with_the_simulator_s_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform = {"name": "ub1", "url": "https://ub1.example", "token": "ub1-token"}
    _production(monkeypatch, FUSION_MIGRATIONS_PLATFORMS=json.dumps([platform]))
    with pytest.raises(InvalidSettings, match=r"set .*FUSION_MIGRATIONS_PLATFORMS\[0\]\.token"):
        load_settings(MigrationSettings)
    platform["token"] = A_TOKEN
    monkeypatch.setenv("FUSION_MIGRATIONS_PLATFORMS", json.dumps([platform]))
    for service in ("APOGEE", "IDENTITY"):  # what else the orchestrator needs in production
        monkeypatch.setenv(f"FUSION_MIGRATIONS_{service}_URL", "https://fusion.univ.example")
        monkeypatch.setenv(f"FUSION_MIGRATIONS_{service}_TOKEN", A_TOKEN[::-1])
    assert load_settings(MigrationSettings).platforms[0].name == "ub1"


def test_migrate_reads_only_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, FUSION_SYNC_DATABASE_URL="postgresql+asyncpg://u:p@h/sync")
    monkeypatch.setenv("FUSION_TOKENS", "")  # everything else is wrong or missing
    monkeypatch.setenv("FUSION_SYNC_MAX_REMOVAL_SHARE", "many")
    url = database_settings(SyncSettings).database_url.get_secret_value()
    assert url == "postgresql+asyncpg://u:p@h/sync"


def test_every_setting_is_documented() -> None:
    models: list[type[BaseModel]] = [
        *settings_classes().values(),
        ClientToken,
        MoodlePlatform,
        ArchiveLimits,
    ]
    assert undocumented(models) == []


def test_the_settings_reference_is_up_to_date() -> None:
    generated = markdown(settings_classes())
    assert (REPO / "docs" / "settings.md").read_text(encoding="utf-8") == generated, (
        "run: fusion settings --markdown > docs/settings.md"
    )
    for variable in ("FUSION_SYNC_APOGEE_TOKEN", "FUSION_MIGRATIONS_PLATFORMS", "`url`"):
        assert variable in generated
