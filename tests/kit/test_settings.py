import pytest

from services.identity.settings import Settings as IdentitySettings
from services.migration_orchestrator.settings import Settings as MigrationSettings


def test_service_variable_wins_over_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FUSION_IDENTITY_LOG_LEVEL", "DEBUG")
    assert IdentitySettings().log_level == "DEBUG"
    assert MigrationSettings().log_level == "WARNING"


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_MIGRATIONS_DATABASE_URL", "postgresql+asyncpg://h/migrations")
    assert MigrationSettings().database_url == "postgresql+asyncpg://h/migrations"
    assert IdentitySettings().database_url.endswith("identity.db")


def test_tokens_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = "a" * 64
    entry = f'{{"client": "ub1", "role": "plugin", "sha256": "{digest}"}}'
    monkeypatch.setenv("FUSION_TOKENS", f"[{entry}]")
    assert IdentitySettings().tokens[0].client == "ub1"


def test_a_clear_token_in_place_of_a_digest_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSION_TOKENS", '[{"client": "ub1", "role": "plugin", "sha256": "abc"}]')
    with pytest.raises(ValueError, match="sha256"):
        IdentitySettings()


def test_placeholder_secrets_are_refused_in_production() -> None:
    from services.enrolment_sync.settings import Settings as SyncSettings

    with pytest.raises(ValueError, match="apogee_token, moodle_token"):
        SyncSettings(environment="production")
    settings = SyncSettings(
        environment="production", apogee_token="a-real-token", moodle_token="another-real-one"
    )
    assert settings.moodle_token.get_secret_value() == "another-real-one"
    assert SyncSettings(environment="development").moodle_token.get_secret_value()
