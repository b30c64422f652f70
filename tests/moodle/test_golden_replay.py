"""Replay every recorded request of fixtures/moodle-golden against the moodle-golden scenario."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from fusion.testing.paths import MOODLE_GOLDEN
from sim.moodle.app import create_sim_app
from sim.moodle.golden import GOLDEN_PLATFORM, apply_between_03_and_05, seed_golden
from sim.moodle.state import SimMoodle

from .golden_compare import differences

FILES = (
    "01_auth_and_param_errors.json",
    "02_site_info.json",
    "03_courses.json",
    "05_enrolments.json",
)


def _calls() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, call)
        for name in FILES
        for call in json.loads((MOODLE_GOLDEN / name).read_text())["calls"]
    ]


CALLS = _calls()


def _fields(call: dict[str, Any]) -> str:
    params = [
        (k, "valid-token" if v == "<valid-token>" else v) for k, v in call["request"]["params"]
    ]
    return urlencode(params)


async def _replay_all() -> dict[str, list[str]]:
    sim = SimMoodle()
    seed_golden(sim)
    app = create_sim_app(sim, root_platform=GOLDEN_PLATFORM)
    problems: dict[str, list[str]] = {}
    transport = httpx.ASGITransport(app=app)
    between_applied = False  # once, as the recording that ran between 03 and 05 did
    async with httpx.AsyncClient(transport=transport, base_url="http://golden") as http:
        for file, call in CALLS:
            if file.startswith("05") and not between_applied:
                between_applied = True
                apply_between_03_and_05(sim[GOLDEN_PLATFORM])
            problems[f"{file}:{call['name']}"] = await _replay_one(http, call)
    return problems


async def _replay_one(http: httpx.AsyncClient, call: dict[str, Any]) -> list[str]:
    request = call["request"]
    path = request["endpoint"]
    if request["http_method"] == "GET":
        response = await http.get(f"{path}?{_fields(call)}")
    else:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        response = await http.post(path, content=_fields(call), headers=headers)
    found = []
    if response.status_code != call["http_status"]:
        found.append(f"HTTP {response.status_code} != {call['http_status']}")
    if response.headers["content-type"] != call["content_type"]:
        found.append(f"content-type {response.headers['content-type']} != {call['content_type']}")
    if not call["response_is_json"]:
        if response.text != call["response_body"]:
            found.append(f"XML body differs: {response.text!r}")
        return found
    summarized = bool(call.get("response_body_summarized"))
    return found + differences(call["response_body"], response.json(), summarized=summarized)


@pytest.fixture(scope="module")
async def replay() -> dict[str, list[str]]:
    return await _replay_all()


@pytest.mark.parametrize(("file", "name"), [(f, c["name"]) for f, c in CALLS])
async def test_recorded_call_gives_an_equivalent_answer(
    replay: dict[str, list[str]], file: str, name: str
) -> None:
    assert replay[f"{file}:{name}"] == []
