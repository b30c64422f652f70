"""One all-in-one Fusion (demo data, simulated Moodle) and one headless Chromium per session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from fusion.testing.processes import free_port, running_server

from .harness import PAGES, Site, chromium_path


@pytest.fixture(scope="package")  # Playwright's loop must stop before async tests run
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    where: Path = tmp_path_factory.mktemp("allinone")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["launcher.cli", "run", "--port", str(port), "--data-dir", str(where / "var")]
    with running_server(
        args, health_url=f"{base}/apogee/readyz", log_path=where / "server.log", timeout=240
    ):
        assert httpx.get(f"{base}{PAGES}/login", timeout=10).status_code == 200
        _wait_for_demo_sync(base)
        yield Site(base=base)


SETTLED = {"done", "failed", "blocked", "cancelled"}


def _wait_for_demo_sync(base: str) -> None:
    """The demo's start-up sync and migrations run first: no test's course is caught in them."""
    headers = {"authorization": "Bearer demo-admin"}
    for _ in range(240):
        try:
            answer = httpx.get(f"{base}/sync/v1/runs", headers=headers, timeout=30)
        except httpx.TimeoutException:  # the demo's identity imports keep the process busy
            continue
        runs = answer.json()["data"]
        if runs and all(run["status"] in ("completed", "failed") for run in runs):
            break
        time.sleep(0.5)
    else:
        raise TimeoutError("the demo's start-up sync did not finish")
    for _ in range(240):  # and its batch of migrations, so that tests' migrations do not queue
        try:
            answer = httpx.get(f"{base}/migrations/v1/migrations", headers=headers, timeout=30)
        except httpx.TimeoutException:
            continue
        states = {m["state"] for m in answer.json()["items"]}
        if states and states <= SETTLED:
            return
        time.sleep(0.5)
    raise TimeoutError("the demo's migrations did not settle")


@pytest.fixture(scope="package")  # Playwright's loop must stop before async tests run
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()
