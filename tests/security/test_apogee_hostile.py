"""apogee_api under hostile input: bodies judged only after the token, sizes bounded, personal
data for operators only, malicious codes and search terms answered (never a 5xx, never echoed
whole), and metric labels that a client cannot multiply."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fusion.testing.clients import DEMO_HEADERS, asgi_client
from services.apogee_api.app import create_app
from services.apogee_api.settings import Settings
from sim.apogee.load import load_dataset
from tests.apogee_api.tiny import VET, tiny_apogee

V1 = "/apogee/v1"
STUDENT = "21900001"
_MiB = 1024 * 1024


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'apogee.db'}"
    await load_dataset(url, tiny_apogee())
    settings = Settings(environment="test", demo_tokens=True, database_url=url)
    async with asgi_client(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"codes": 12}', b"\xff\xfe", b'{"codes": ["' + b"A" * _MiB + b'"]}'],
)
@pytest.mark.parametrize("path", ["/codes:validate", "/members:bulk"])
async def test_the_token_is_checked_before_the_body(
    api: httpx.AsyncClient, path: str, body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    anonymous = await api.post(V1 + path, content=body, headers=headers)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    forged = await api.post(
        V1 + path, content=body, headers={**headers, "Authorization": "Bearer forged"}
    )
    assert forged.status_code == 401


async def test_a_plugin_is_refused_a_roster_before_its_body_is_read(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post(
        f"{V1}/members:bulk", content=b"{broken", headers=DEMO_HEADERS["plugin"]
    )
    assert answer.status_code == 403


async def test_a_50_mb_code_is_refused_and_not_echoed(api: httpx.AsyncClient) -> None:
    huge = "A" * (50 * _MiB)
    answer = await api.post(
        f"{V1}/codes:validate", json={"codes": [huge]}, headers=DEMO_HEADERS["plugin"]
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["message_fr"]
    assert len(answer.content) < 1024


async def test_a_code_longer_than_any_apogee_code_is_refused(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        f"{V1}/codes:validate", json={"codes": ["A" * 5000]}, headers=DEMO_HEADERS["plugin"]
    )
    assert answer.status_code == 422
    assert "A" * 100 not in answer.text


async def test_if_none_match_is_bounded(api: httpx.AsyncClient) -> None:
    body = {"codes": [VET], "if_none_match": {VET: "e" * 10_000}}
    answer = await api.post(f"{V1}/members:bulk", json=body, headers=DEMO_HEADERS["service"])
    assert answer.status_code == 422


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (f"/students/{STUDENT}", "GET"),
        (f"/codes/{VET}/members", "GET"),
        ("/members:bulk", "POST"),
    ],
)
async def test_personal_data_is_for_operators_only(
    api: httpx.AsyncClient, path: str, method: str
) -> None:
    body = {"codes": [VET]} if method == "POST" else None
    for role, status in (("plugin", 403), ("service", 200), ("admin", 200)):
        headers = dict(DEMO_HEADERS[role])
        if role == "plugin":
            headers["X-Fusion-Acting-User"] = "enseignant1"
        answer = await api.request(method, V1 + path, json=body, headers=headers)
        assert answer.status_code == status, (role, answer.text[:200])
    refused = await api.get(f"{V1}/students/{STUDENT}", headers=DEMO_HEADERS["plugin"])
    assert "last_name" not in refused.text


MALICIOUS = [
    "' OR '1'='1",
    "L1'; DROP TABLE individu;--",
    '" OR ""="',
    "%_%",
    "\\",
    "\x00",
    "LMATH\x00-1",
    "ＬＭＡＴＨ-1",  # fullwidth letters
    "LMATH\u202e1-",  # right-to-left override
    "L\u0301MATH-1",  # combining accent
    "\ud800",  # a lone surrogate, once JSON-escaped
    "*",
    "  ",
]


@pytest.mark.parametrize("code", MALICIOUS)
async def test_malicious_codes_are_answered_without_error(
    api: httpx.AsyncClient, code: str
) -> None:
    plugin = DEMO_HEADERS["plugin"]
    body = f'{{"codes": [{_json_string(code)}]}}'
    validated = await api.post(
        f"{V1}/codes:validate",
        content=body,
        headers={**plugin, "Content-Type": "application/json"},
    )
    assert validated.status_code in (200, 400, 422), validated.text[:200]
    if validated.status_code == 200:
        assert [r["status"] for r in validated.json()["results"]] == ["unknown"]
    query = quote(code.encode("utf-8", "surrogatepass"), safe="")
    searched = await api.get(f"{V1}/codes?q={query}", headers=plugin)
    assert searched.status_code in (200, 422), searched.text[:200]
    if searched.status_code == 200:
        assert all(hit["code"] for hit in searched.json()["results"])
    path = quote(code.encode("utf-8", "surrogatepass"), safe="")
    described = await api.get(f"{V1}/codes/{path}", headers=plugin)
    assert described.status_code in (404, 422), described.text[:200]


def _json_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() else f"\\u{ord(c):04x}" for c in text) + '"'


async def test_an_sql_metacharacter_search_matches_nothing_it_should_not(
    api: httpx.AsyncClient,
) -> None:
    plugin = DEMO_HEADERS["plugin"]
    everything = await api.get(f"{V1}/codes", params={"q": "%", "limit": 50}, headers=plugin)
    assert everything.status_code in (200, 422)
    if everything.status_code == 200:
        assert everything.json()["results"] == []


_LABEL = re.compile(r"^[A-Za-z0-9_/{}:.\-]*$")


async def test_metric_labels_stay_bounded_after_hostile_traffic(api: httpx.AsyncClient) -> None:
    for n in range(60):
        await api.request(f"FUZZ{n}", f"{V1}/years/current", headers=DEMO_HEADERS["plugin"])
        await api.get(f"/nowhere/{n}/user{n}@example.org", headers=DEMO_HEADERS["plugin"])
        await api.get(f"{V1}/codes/C{n}", headers=DEMO_HEADERS["plugin"])
    text = (await api.get("/metrics")).text
    methods, routes = set(), set()
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("fusion_http_request"):
            continue
        # the registry is the process's: count what this service's hostile traffic could grow
        for sample in family.samples:
            if sample.labels.get("service") not in (None, "apogee_api"):
                continue
            methods.add(sample.labels.get("method"))
            routes.add(sample.labels.get("route"))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other", None}
    assert "other" in methods
    assert all(route is None or _LABEL.match(route) for route in routes)
    assert not any(route and ("nowhere" in route or "@" in route) for route in routes)
    assert f"{V1}/codes/{{code}}" in routes
    assert len(routes) < 40
