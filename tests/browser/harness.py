"""Driving the pages in Debian's Chromium: sign in, check accessibility, keep a screenshot."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import axe_playwright_python
import httpx
from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE_SCRIPT = Path(axe_playwright_python.__file__).parent / "axe.min.js"
PAGES = "/migrations/pages"
BLOCKING_IMPACTS = ("serious", "critical")


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("Debian's chromium is missing: run .ci/install-packages as root")
    return found


@dataclass(frozen=True)
class Site:
    base: str

    def url(self, path: str) -> str:
        return f"{self.base}{PAGES}{path}"


def signed_in(browser: Browser, site: Site, username: str) -> Page:
    """A fresh browser context (its own cookies), signed in through the development login."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.goto(site.url("/login"))
    page.get_by_role("button", name=re.compile(rf"^{re.escape(username)} ")).click()
    page.wait_for_url(site.url("/"))
    return page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE_SCRIPT))
    results: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def check_page(page: Page, name: str) -> None:
    """No serious or critical axe-core violation, and a full-page screenshot to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert not violations, f"{name}: {summary}"


def api(site: Site, token: str, *, acting_user: str | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {token}"}
    if acting_user is not None:
        headers["x-fusion-acting-user"] = acting_user
    return httpx.Client(base_url=site.base, headers=headers, timeout=30)


def create_course_space(
    page: Page, site: Site, *, fullname: str, shortname: str, codes: str
) -> int:
    """Through the form, as the signed-in teacher; the new course's id on the target."""
    page.goto(site.url("/courses/new"))
    page.get_by_label("Nom complet").fill(fullname)
    page.get_by_label("Nom abrégé").fill(shortname)
    page.get_by_label("Code(s) Apogée").fill(codes)
    page.get_by_role("button", name="Créer mon espace de cours").click()
    page.wait_for_url(re.compile(r"/courses\?created=\d+$"))
    return int(page.url.rsplit("=", 1)[1])
