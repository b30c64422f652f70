"""What a service writes to its logs and answers in its errors, after hostile traffic that puts
a real token, e-mails and names where they do not belong: no 12 characters of the token, no
e-mail, no student's name."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fusion.auth import hash_token, new_token
from fusion.settings import ClientToken
from fusion.testing.clients import asgi_client
from services.apogee_api.app import create_app
from services.apogee_api.settings import Settings
from sim.apogee.load import load_dataset
from tests.apogee_api.tiny import tiny_apogee

V1 = "/apogee/v1"
EMAIL = "lea.dupont@etu.example.edu"
WINDOW = 12


def _windows(secret: str) -> set[str]:
    return {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}


async def test_logs_and_errors_never_carry_a_token_or_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token, forged = new_token(), new_token()
    url = f"sqlite+aiosqlite:///{tmp_path / 'apogee.db'}"
    await load_dataset(url, tiny_apogee())
    settings = Settings(
        environment="test",
        database_url=url,
        tokens=[ClientToken(client="ub1-plugin", role="plugin", sha256=hash_token(token))],
    )
    caplog.set_level(logging.INFO)  # the services log at INFO; DEBUG echoes SQL parameters
    answers: list[str] = []
    async with asgi_client(create_app(settings)) as client:
        good = {"Authorization": f"Bearer {token}"}
        requests = [
            client.get(f"{V1}/codes", params={"q": token, "access_token": token}),
            client.get(f"{V1}/codes/{token[:20]}", headers=good),
            client.get(f"{V1}/students/21900001", headers={**good, "X-Fusion-Acting-User": EMAIL}),
            client.post(f"{V1}/codes:validate", content=f'{{"codes": ["{token}"', headers=good),
            client.post(f"{V1}/codes:validate", json={"codes": [EMAIL], "token": token}),
            client.get(f"{V1}/years/current", headers={"Authorization": f"Bearer {forged}"}),
            client.get(f"{V1}/years/current", headers={"Authorization": token}),
            client.request("TRACE", f"{V1}/years/current?token={token}", headers=good),
        ]
        for request in requests:
            answers.append((await request).text)
        answers.append((await client.get(f"{V1}/codes/LMATH-1/members", headers=good)).text)
    logged = "\n".join(
        f"{record.getMessage()} {record.__dict__.get('fields', '')}"
        for record in caplog.records
        if not record.name.startswith("httpx")  # the test's own client, not the service
    )
    assert caplog.records  # the requests were logged at all
    for secret in (token, forged):
        leaked = [w for w in _windows(secret) if w in logged]
        assert not leaked, f"{len(leaked)} token windows in the logs:\n{logged[:3000]}"
    # a token sent as a credential is never echoed (what a client typed in a path may be)
    assert not [w for a in answers for w in _windows(forged) if w in a]
    assert EMAIL not in logged
    assert "DUPONT" not in logged
    assert "Léa" not in logged
    assert not any("DUPONT" in answer for answer in answers)  # a plugin reads no roster
