"""What a newcomer meets in the demo: its blocked CS01 resolves as a real case would, the
timeline reads in French, the landing page switches language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, api, check_page, signed_in
from .test_blocked_migration import _moodle, _poll

pytestmark = pytest.mark.slow


def _demo_cs01(site: Site) -> int:
    with api(site, "demo-admin") as admin:
        found = admin.get("/migrations/v1/migrations", params={"platform": "ub1", "limit": 100})
    cs01 = [m for m in found.json()["items"] if m["source_course_id"] == 8]
    assert cs01, found.text
    return int(cs01[-1]["id"])  # the demo's, the first asked for


def test_the_demo_blocked_course_is_resolved_by_a_plan_for_the_merged_platform(
    site: Site, browser: Browser
) -> None:
    migration_id = _demo_cs01(site)
    page = signed_in(browser, site, "support")
    page.goto(site.url(f"/migration/{migration_id}"))
    expect(page.locator(".migration-state")).to_have_text("Bloquée")
    expect(page.get_by_role("heading", level=1)).to_have_text("Migration de « Course 01 »")
    expect(page.locator("[data-conflict-user=user01]")).to_contain_text("2D")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("demandée par demo-admin")
    expect(timeline).not_to_contain_text("restore-check")
    check_page(page, "demo-cs01-blocked")

    # ub1's user01 holds the directory's e-mail; the merged platform's keeps an old one.
    page.get_by_role(
        "button", name="Préparer un plan d'homogénéisation pour target (aperçu)"
    ).click()
    page.wait_for_url(re.compile(rf"/admin/identity/plans/\d+\?migration={migration_id}$"))
    expect(page.locator(".plan-state")).to_have_text("prêt à approuver")
    change = page.locator("tr[data-field=email]").filter(has_text="user01@example.com")
    expect(change).to_have_count(1)
    expect(change).to_contain_text("user01@univ-demo.fr")
    page.get_by_role("button", name="Approuver et appliquer sur target").click()
    for _ in range(60):  # applied in the background, round by round
        state = page.locator(".plan-state").inner_text()
        assert state in (
            "approuvé, sur le point d'être appliqué",
            "en cours d'application",
            "appliqué",
        ), state  # every state has its words, none is raw
        if state == "appliqué":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator(".plan-state")).to_have_text("appliqué")

    page.get_by_role("link", name=f"Retour à la migration n° {migration_id}").click()
    page.get_by_role("button", name="Reprendre la migration").click()
    page.wait_for_url(re.compile(rf"/migration/{migration_id}$"))
    expect(page.locator(".migration-state")).to_have_text("Terminée", timeout=90_000)
    expect(page.locator(".timeline")).to_contain_text("reprise par support")
    check_page(page, "demo-cs01-done")


def test_the_landing_page_switches_language_and_the_pages_follow(
    site: Site, browser: Browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(site.base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fusion — all-in-one")
    check_page(page, "landing-en")
    page.get_by_role("link", name="Open Fusion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Development sign-in")
    page.goto(site.base + "/")
    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fusion — tout-en-un")
    context.close()


def _import_accounts(site: Site, platform: str) -> None:
    with api(site, "demo-admin") as admin:
        body = {"source": "moodle_ws", "platform": platform}
        started = admin.post("/identity/v1/imports", json=body)
        assert started.status_code == 202, started.text
        job = _poll(
            lambda: admin.get(f"/identity/v1/imports/{started.json()['id']}").json(),
            lambda j: j["state"] not in ("queued", "running"),
        )
        assert job["state"] == "done", job


def test_an_account_with_no_person_in_the_directory_says_what_support_should_do(
    site: Site, browser: Browser
) -> None:
    # A guest account of ub2, in no directory, whose username the merged platform also holds
    # with another e-mail: no homogenisation plan can settle it.
    platform, course, guest = "ub2", 6, "invite.externe"
    for where, email in ((platform, "invite@partenaire.example"), ("target", "x@ailleurs.example")):
        new = {
            "users[0][username]": guest,
            "users[0][password]": "Fusion-Demo-1",
            "users[0][firstname]": "Invité",
            "users[0][lastname]": "Externe",
            "users[0][email]": email,
        }
        created = _moodle(site, where, "core_user_create_users", **new)
        if where == platform:
            enrol = {
                "enrolments[0][roleid]": 5,
                "enrolments[0][userid]": created[0]["id"],
                "enrolments[0][courseid]": course,
            }
            _moodle(site, platform, "enrol_manual_enrol_users", **enrol)
    for where in (platform, "target"):
        _import_accounts(site, where)
    with api(site, "demo-admin") as admin:
        body = {
            "source_platform": platform,
            "source_course_id": course,
            "target_category_id": 1,
            "waive_codes": True,
        }
        asked = admin.post("/migrations/v1/migrations", json=body)
        assert asked.status_code == 201, asked.text
        migration_id = int(asked.json()["id"])
        found = _poll(
            lambda: admin.get(f"/migrations/v1/migrations/{migration_id}").json(),
            lambda m: m["state"] in ("done", "failed", "blocked", "cancelled"),
        )
    assert (found["state"], found["step"]) == ("blocked", "identity"), found

    page = signed_in(browser, site, "support")
    page.goto(site.url(f"/migration/{migration_id}"))
    advice = page.locator(f"[data-no-person='{guest}']")
    expect(advice).to_contain_text("ne correspond à personne dans l'annuaire")
    expect(advice).to_contain_text("faites-la ajouter à l'annuaire")
    check_page(page, "migration-blocked-no-person")
