"""Access lines and uvicorn's own lines go through the kit's JSON formatter, with the request's
correlation id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from fusion.app import create_service_app
from fusion.observability import configure_logging
from fusion.settings import FusionSettings
from fusion.testing.clients import asgi_client


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("restored_logging")
async def test_each_request_writes_one_json_access_line_with_its_correlation_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="INFO", json_logs=True)  # here: its handler writes to capsys
    app = create_service_app(
        name="demo", prefix="/demo", settings=FusionSettings(environment="test")
    )
    async with asgi_client(app) as client:
        await client.get("/demo/healthz", headers={"X-Correlation-ID": "cid-77"})
    access = [e for e in _lines(capsys.readouterr().err) if e["logger"] == "fusion.access"]
    assert len(access) == 1
    assert access[0]["correlation_id"] == "cid-77"
    assert (access[0]["route"], access[0]["status"], access[0]["service"]) == (
        "/demo/healthz",
        200,
        "demo",
    )


@pytest.mark.usefixtures("restored_logging")
def test_uvicorn_lines_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json_logs=True)
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    (line,) = _lines(capsys.readouterr().err)
    assert (line["logger"], line["message"]) == ("uvicorn.error", "Application startup complete.")
