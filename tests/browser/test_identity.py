"""Support: identity conflicts, a homogenisation plan previewed then approved."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, check_page, signed_in

pytestmark = pytest.mark.slow
PLATFORM = "ub2"


def _user(site: Site, moodle_id: int) -> dict[str, object]:
    answer = httpx.post(
        f"{site.base}/sim/{PLATFORM}/webservice/rest/server.php",
        data={
            "wstoken": f"{PLATFORM}-token",
            "moodlewsrestformat": "json",
            "wsfunction": "core_user_get_users_by_field",
            "field": "id",
            "values[0]": moodle_id,
        },
        timeout=10,
    )
    users = answer.json()
    assert isinstance(users, list)
    return dict(users[0])


def test_support_previews_then_approves_an_identity_plan(site: Site, browser: Browser) -> None:
    page = signed_in(browser, site, "support")
    page.goto(site.url("/admin"))
    page.get_by_role("link", name="Conflits à résoudre et plans d'homogénéisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conflits d'identité")
    expect(page.locator("tr[data-conflict]").first).to_be_visible()
    # accounts by their login on their platform, not only by a number
    expect(page.locator("tr[data-conflict]").first).to_contain_text(
        re.compile(r"(ub\d|target):[a-z][a-z0-9._-]* \(n° \d+\)")
    )
    check_page(page, "identity-conflicts")

    page.get_by_label("Plateforme à homogénéiser").select_option(PLATFORM)
    page.get_by_role("button", name="Préparer un plan (aperçu)").click()
    page.wait_for_url(re.compile(r"/admin/identity/plans/\d+$"))
    expect(page.locator(".plan-state")).to_have_text("prêt à approuver")
    change = page.locator("tr[data-field=email]").first  # the demo: e-mails changed on ub2
    account = int(change.get_attribute("data-account") or 0)
    before, after = (change.locator("td").nth(n).inner_text() for n in (3, 4))
    assert before != after
    assert _user(site, account)["email"] == before  # a preview changes nothing
    check_page(page, "identity-plan-preview")

    page.get_by_role("button", name=f"Approuver et appliquer sur {PLATFORM}").click()
    for _ in range(60):  # applied in the background, round by round
        if page.locator(".plan-state").inner_text() == "appliqué":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator(".plan-state")).to_have_text("appliqué")
    expect(page.get_by_text("Approuvé par")).to_be_visible()
    assert _user(site, account)["email"] == after
    check_page(page, "identity-plan-applied")
