"""The merged platform is one platform entry like the others; ``moodle_*`` is a shorthand for it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from fusion.moodle.registry import PlatformUnknown
from fusion.runtime import Seams
from fusion.settings import MoodlePlatform
from fusion.settings_errors import InvalidSettings, load_settings
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.state import open_standalone
from sim.moodle.app import create_sim_app
from sim.moodle.demo import seed_demo
from sim.moodle.state import SimMoodle

TARGET = {"name": "target", "url": "http://sim/target", "token": "target-token"}
UB1 = {"name": "ub1", "url": "http://sim/ub1", "token": "ub1-token", "max_input_vars": 900}


def _entry(settings: Settings, name: str) -> MoodlePlatform:
    return next(p for p in settings.moodle_platforms() if p.name == name)


def test_the_shorthand_is_the_entry_of_the_merged_platform() -> None:
    settings = Settings(
        environment="test", moodle_url="https://moodle.univ.example", moodle_max_input_vars=700
    )
    [target] = settings.platforms
    assert (target.name, target.url, target.max_input_vars) == (
        "target",
        "https://moodle.univ.example",
        700,
    )
    settings.moodle_max_input_vars = 300  # what the sync plans batches by is what the client gets
    assert _entry(settings, "target").max_input_vars == 300


def test_an_entry_fills_the_shorthand_and_satisfies_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = "ab" * 32
    monkeypatch.setenv("FUSION_ENVIRONMENT", "production")
    monkeypatch.setenv(
        "FUSION_TOKENS", json.dumps([{"client": "c", "role": "admin", "sha256": digest}])
    )
    monkeypatch.setenv("FUSION_BUS_URL", "amqp://fusion:secret@127.0.0.1:5672/fusion")
    merged = {"name": "merged", "url": "https://moodle.univ.example", "token": "a-real-token"}
    monkeypatch.setenv("FUSION_SYNC_PLATFORMS", json.dumps([UB1 | {"token": "x"}, merged]))
    monkeypatch.setenv("FUSION_SYNC_TARGET_PLATFORM", "merged")
    settings = load_settings(
        Settings, apogee_url="https://fusion.univ.example", apogee_token="another-real-token"
    )
    assert settings.moodle_url == "https://moodle.univ.example"
    assert settings.moodle_token.get_secret_value() == "a-real-token"
    assert [p.name for p in settings.platforms] == ["ub1", "merged"]


def test_an_entry_and_the_shorthand_together_are_refused_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FUSION_SYNC_PLATFORMS", json.dumps([TARGET]))
    monkeypatch.setenv("FUSION_SYNC_MOODLE_URL", "https://elsewhere.example")
    with pytest.raises(InvalidSettings) as refused:
        load_settings(Settings, environment="test")
    assert "(FUSION_SYNC_PLATFORMS, FUSION_SYNC_MOODLE_URL): keep one" in refused.value.message


async def test_the_sync_writes_to_its_target_and_reaches_any_platform_by_name(
    tmp_path: Path,
) -> None:
    sim = SimMoodle()
    seed_demo(sim, base_url="http://sim")
    settings = Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}",
        database_create_tables=True,
        platforms=[MoodlePlatform.model_validate(p) for p in (UB1, TARGET)],
    )
    seams = Seams(transports={"moodle": httpx.ASGITransport(app=create_sim_app(sim))})
    async with open_standalone(settings, seams=seams) as state:
        assert state.moodle is state.platforms["target"]
        target = await state.moodle.get_site_info()
        ub1 = await state.platforms["ub1"].get_site_info()
        assert (target["siteurl"], ub1["siteurl"]) == ("http://sim/target", "http://sim/ub1")
        assert state.platforms["ub1"].max_input_vars == 900
        with pytest.raises(PlatformUnknown) as unknown:
            state.platforms["ub9"]
        assert unknown.value.status_code == 404
