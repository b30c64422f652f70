"""Every service, driven through its normal and error paths, writes no secret and no personal
data to its logs, and echoes no credential in its answers.

Secrets: a real client token (hashed in the settings), a forged one, the Moodle web-service
token of the simulated platforms, the database and broker passwords. Personal data: the demo
users' e-mails and names (the stand-in worlds' teachers and admins, the hand-built Apogée's
students, a directory file's people). A secret counts as leaked when any 12 consecutive
characters of it appear.

Paths driven: every documented operation with a forged token, the token in the query string,
a malformed body carrying the token and an e-mail, a path naming an e-mail; the services'
own reads as a plugin acting for an e-mail; a refused start-up (settings carrying the secrets);
an outage (the database and the broker unreachable, their passwords in the URLs).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from fusion.auth import hash_token, new_token
from fusion.settings import ClientToken
from fusion.settings_errors import InvalidSettings, load_settings
from fusion.testing.clients import asgi_client
from fusion.testing.processes import free_port
from launcher.registry import SERVICES
from tests.figures import report

from .services import APPS, MOODLE_TOKEN, documents

WINDOW = 12
DB_PASSWORD = "Pg" + new_token()[:20]
BUS_PASSWORD = "Mq" + new_token()[:20]
# The worlds' people (tests/security/services.py, the hand-built Apogée) and a directory file's.
PEOPLE = [
    "enseignant.a@example.edu",
    "enseignant.b@example.edu",
    "admin@example.edu",
    "admin@ub4.example.edu",
    "lea.dupont@etu.example.edu",
    "DUPONT",
    "Léa",
    "zoe.quintessa@example.edu",
    "Quintessa",
]
DIRECTORY_CSV = (
    "id,username,email,firstname,lastname,idnumber,auth\n"
    "5,zquintessa,zoe.quintessa@example.edu,Zoé,Quintessa,21900777,cas\n"
    "6,broken,zoe.quintessa@example.edu,Zoé\n"
)
DOCUMENTS = documents()
PREFIX = {"apogee_api": "/apogee", "identity": "/identity"}


def windows(secret: str) -> set[str]:
    return {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}


def leaks(text: str, secrets: dict[str, str]) -> dict[str, int]:
    found = {name: sum(1 for w in windows(s) if w in text) for name, s in secrets.items()}
    return {name: count for name, count in found.items() if count}


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record the services wrote (the test's own HTTP client excepted), with its fields
    and any traceback, as a log handler would format them."""
    formatter = logging.Formatter("%(name)s %(message)s")
    lines = []
    for record in caplog.records:
        if record.name.startswith("httpx"):
            continue
        extra = record.__dict__.get("fields", "")
        trace = formatter.formatException(record.exc_info) if record.exc_info else ""
        lines.append(f"{formatter.format(record)} {extra} {trace}")
    return "\n".join(lines)


def _operations(service: str) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, methods in DOCUMENTS[service]["paths"].items()
        for method in methods
    ]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


async def _drive(
    client: httpx.AsyncClient, service: str, token: str, forged: str
) -> list[httpx.Response]:
    good = {"Authorization": f"Bearer {token}"}
    acting = {**good, "X-Fusion-Acting-User": PEOPLE[4]}
    answers = []
    for method, path in _operations(service):
        concrete = _fill(path, "1")
        sends: list[dict[str, Any]] = [
            {"headers": {"Authorization": f"Bearer {forged}"}},
            {"headers": {"Authorization": forged}},
            {"params": {"access_token": token, "q": token}},
            {
                "headers": {**good, "content-type": "application/json"},
                "content": f'{{"code": "{token}", "email": "{PEOPLE[4]}", "x": [',
            },
            {"headers": good, "json": {"codes": [PEOPLE[4]], "token": token, "course_id": 1}},
            {"headers": acting, "url": _fill(path, PEOPLE[4])},
        ]
        for send in sends:
            url = send.pop("url", concrete)
            answers.append(await client.request(method, url, **send))
    if service == "identity":
        answers.append(
            await client.post(
                "/identity/v1/file-imports",
                params={"source": "moodle_csv", "platform": "ub1"},
                content=DIRECTORY_CSV.encode(),
                headers={**good, "content-type": "text/csv"},
            )
        )
    return answers


@pytest.mark.parametrize("service", list(APPS))
async def test_traffic_leaves_no_secret_or_personal_data_in_the_logs(
    service: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, pytestconfig: pytest.Config
) -> None:
    token, forged = new_token(), new_token()
    tokens = [ClientToken(client="scan-admin", role="admin", sha256=hash_token(token))]
    caplog.set_level(logging.INFO)  # the services log at INFO; DEBUG echoes SQL parameters
    async with asgi_client(await APPS[service](tmp_path, tokens)) as client:
        answers = await _drive(client, service, token, forged)
    text = logged(caplog)
    access = [r for r in caplog.records if r.name == "fusion.access"]
    assert len(access) >= len(answers)  # every request was logged, so the scan means something
    report(
        pytestconfig,
        f"secrets-scan service={service} requests={len(answers)} log_records={len(caplog.records)}",
    )
    assert not [a for a in answers if a.status_code >= 500 and a.status_code != 503]
    secrets = {"token": token, "forged": forged, "moodle_token": MOODLE_TOKEN}
    assert leaks(text, secrets) == {}, text[-3000:]
    assert [p for p in PEOPLE if p in text] == [], text[-3000:]
    # a credential is never echoed (what a client typed as a code or in a path may be)
    echoed = {a.request.url.path: leaks(a.text, {"forged": forged}) for a in answers}
    assert {path: found for path, found in echoed.items() if found} == {}


def _outage_settings(service: str) -> dict[str, Any]:
    dead = free_port()
    values: dict[str, Any] = {
        "environment": "test",
        "demo_tokens": True,
        "database_url": SecretStr(
            f"postgresql+asyncpg://fusion:{DB_PASSWORD}@127.0.0.1:{dead}/fusion"
        ),
    }
    if "bus_url" in SERVICES[service].settings_class().model_fields:
        values["bus_url"] = SecretStr(f"amqp://fusion:{BUS_PASSWORD}@127.0.0.1:{dead}/")
    return values


@pytest.mark.parametrize("service", list(APPS))
async def test_an_outage_leaves_no_password_in_the_logs_or_answers(
    service: str, caplog: pytest.LogCaptureFixture
) -> None:
    entry = SERVICES[service]
    settings = entry.settings_class()(**_outage_settings(service))
    caplog.set_level(logging.INFO)
    answers = []
    async with asgi_client(entry.create_app(settings)) as client:
        for method, path in _operations(service):
            answers.append(
                await client.request(
                    method, _fill(path, "1"), headers={"Authorization": "Bearer demo-admin"}
                )
            )
    statuses = {a.status_code for a in answers}
    assert 503 in statuses  # the outage was met
    assert not statuses & {500, 502}
    text = logged(caplog) + "\n".join(a.text for a in answers)
    assert leaks(text, {"db": DB_PASSWORD, "bus": BUS_PASSWORD}) == {}, text[-3000:]


@pytest.mark.parametrize("service", list(APPS))
def test_a_refused_start_names_the_variable_and_no_secret(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = new_token()
    settings_class = SERVICES[service].settings_class()
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    # a token pasted where its hash belongs, an unknown role, a password in a bad URL
    monkeypatch.setenv(
        "FUSION_TOKENS", f'[{{"client": "ub1", "role": "boss", "sha256": "{token}"}}]'
    )
    monkeypatch.setenv(f"{prefix}DATABASE_URL", f"nosuchdb://u:{DB_PASSWORD}@127.0.0.1:1/x")
    monkeypatch.setenv("FUSION_BUS_URL", f"amqp://u:{BUS_PASSWORD}@127.0.0.1:1/")
    monkeypatch.setenv("FUSION_HTTP_CONNECT_TIMEOUT_SECONDS", token)
    with pytest.raises(InvalidSettings) as refused:
        load_settings(settings_class)
    text = f"{refused.value.message}\n{refused.value.message_fr}\n{refused.value.details}"
    assert "FUSION_TOKENS" in text
    secrets = {"token": token, "db": DB_PASSWORD, "bus": BUS_PASSWORD}
    assert leaks(text, secrets) == {}, text
