"""POST /migrations/v1/backups:analyse: streamed upload in, the same report as the CLI out."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from fusion.app import create_service_app
from fusion.settings import FusionSettings
from fusion.testing.clients import DEMO_HEADERS, asgi_client
from fusion.testing.paths import MBZ_FIXTURES
from services.migration_orchestrator.preflight.archive import ArchiveLimits
from services.migration_orchestrator.preflight.cli import main as cli_main
from services.migration_orchestrator.preflight.routes import create_preflight_router

URL = "/migrations/v1/backups:analyse"
BACKUP = {"Content-Type": "application/vnd.moodle.backup"}
Build = Callable[..., Path]


def _app(limits: ArchiveLimits) -> FastAPI:
    return create_service_app(
        name="migration_orchestrator",
        prefix="/migrations",
        settings=FusionSettings(environment="test", demo_tokens=True),
        routers=[create_preflight_router(limits=limits)],
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(_app(ArchiveLimits(max_archive_bytes=2_000_000))) as http:
        yield http


async def _chunks(data: bytes, size: int = 65_536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("role", ["admin", "service", "plugin"])
async def test_analyse_returns_the_report(
    client: httpx.AsyncClient, build_backup: Build, role: str
) -> None:
    response = await client.post(
        URL, content=_chunks(build_backup().read_bytes()), headers=DEMO_HEADERS[role] | BACKUP
    )
    assert response.status_code == 200
    body = response.json()
    assert body["course"]["shortname"] == "CHIM101"
    assert body["blocking"] is True
    assert {f["code"] for f in body["findings"]} >= {
        "quiz.shared_random_question",
        "lti.site_tool_unbound",
        "enrol.meta_link",
    }


async def test_the_endpoint_and_the_cli_print_the_same_json(client: httpx.AsyncClient) -> None:
    fixture = MBZ_FIXTURES / "question_attempts_missing_users.mbz"
    response = await client.post(
        URL, content=fixture.read_bytes(), headers=DEMO_HEADERS["admin"] | BACKUP
    )
    out = io.StringIO()
    assert cli_main(["backup", "analyse", str(fixture), "--json"], out=out) == 0
    assert response.json() == httpx.Response(200, content=out.getvalue()).json()


async def test_target_release_is_taken_into_account(
    client: httpx.AsyncClient, build_backup: Build
) -> None:
    response = await client.post(
        URL,
        params={"target_release": "4.1.13"},
        content=build_backup().read_bytes(),
        headers=DEMO_HEADERS["admin"] | BACKUP,
    )
    assert response.json()["blocking"] is False


async def test_a_token_is_required(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"x", headers=BACKUP)
    assert response.status_code == 401


async def test_not_an_archive_is_a_400_with_french_and_english(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"hello", headers=DEMO_HEADERS["admin"] | BACKUP)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "backup_not_an_archive"
    assert "archive" in error["message"]
    assert "archive" in error["message_fr"]


async def test_an_upload_over_the_limit_is_cut_off_with_413(client: httpx.AsyncClient) -> None:
    # streamed without Content-Length: the limit is enforced on the bytes as they arrive
    response = await client.post(
        URL, content=_chunks(bytes(3_000_000)), headers=DEMO_HEADERS["admin"] | BACKUP
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "backup_too_large"


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    # The body itself is tiny: only the declared length can earn the 413 (read, it is a 400).
    declared = {"content-length": "2000001"}
    response = await client.post(
        URL, content=b"not read", headers=DEMO_HEADERS["admin"] | BACKUP | declared
    )
    assert response.status_code == 413


async def test_hostile_archive_is_a_400(client: httpx.AsyncClient, build_backup: Build) -> None:
    truncated = build_backup().read_bytes()[:5_000]
    response = await client.post(URL, content=truncated, headers=DEMO_HEADERS["admin"] | BACKUP)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "backup_corrupt"
