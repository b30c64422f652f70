"""A teacher migrates a course and watches it complete; a colleague who teaches it sees it."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, check_page, signed_in

pytestmark = pytest.mark.slow
PLATFORM, COURSE = "ub1", 7  # UB1-006 "Anatomie (ub1)", taught by prof1 in the demo


def _enrol_colleague(site: Site, username: str) -> None:
    """prof2 becomes a teacher of the course too, through the platform's own web services."""
    url = f"{site.base}/sim/{PLATFORM}/webservice/rest/server.php"
    common = {"wstoken": f"{PLATFORM}-token", "moodlewsrestformat": "json"}
    users = httpx.post(
        url,
        data={
            **common,
            "wsfunction": "core_user_get_users_by_field",
            "field": "username",
            "values[0]": username,
        },
    ).json()
    enrolled = httpx.post(
        url,
        data={
            **common,
            "wsfunction": "enrol_manual_enrol_users",
            "enrolments[0][roleid]": 3,
            "enrolments[0][userid]": users[0]["id"],
            "enrolments[0][courseid]": COURSE,
        },
    )
    assert enrolled.status_code == 200
    assert enrolled.json() is None, enrolled.text


def test_a_teacher_migrates_a_course_and_a_colleague_follows_it(
    site: Site, browser: Browser
) -> None:
    _enrol_colleague(site, "prof2")
    page = signed_in(browser, site, "prof1")
    page.goto(site.url("/courses"))
    row = page.locator(f"tr[data-course={PLATFORM}-{COURSE}]")
    expect(row).to_contain_text("non migré")
    row.get_by_role("link", name=re.compile("Migrer")).click()
    expect(page.get_by_label("Nom complet")).to_have_value("Anatomie (ub1)")
    check_page(page, "migrate-form")
    page.get_by_label("Code(s) Apogée").fill("AU000294")
    page.get_by_role("button", name="Lancer la migration").click()

    page.wait_for_url(re.compile(r"/migration/\d+$"))
    state = page.locator(".migration-state")
    expect(state).not_to_have_text("")
    check_page(page, "migration-running")
    # The page follows the migration by itself (no reload): backup, analysis, restore, done.
    expect(state).to_have_text("Terminée", timeout=90_000)
    expect(page.locator(".timeline")).to_contain_text("Restauration en cours")
    expect(page.get_by_text("Rien : le cours est sur la plateforme fusionnée")).to_be_visible()
    # the logs for support are in French too, as the orchestrator stored them
    logs = page.locator("details.card table")
    expect(logs).to_contain_text(re.compile(r"sauvegarde enregistrée \(\d+ octets\)"))
    expect(logs).to_contain_text(re.compile(r"restauré comme cours \d+ sur la plateforme"))
    expect(logs).not_to_contain_text("backup stored")
    check_page(page, "migration-done")

    colleague = signed_in(browser, site, "prof2")
    colleague.goto(site.url("/courses"))
    seen = colleague.locator(f"tr[data-course={PLATFORM}-{COURSE}]")
    expect(seen).to_contain_text("Terminée")
    expect(seen).to_contain_text("lancée par prof1")
    check_page(colleague, "my-courses-colleague-sees-migration")
    seen.get_by_role("link", name="Terminée").click()
    expect(colleague.locator(".migration-state")).to_have_text("Terminée")
    expect(colleague.get_by_role("button", name="Relancer")).to_have_count(0)


def test_a_teacher_cannot_open_a_migration_of_a_course_they_do_not_teach(
    site: Site, browser: Browser
) -> None:
    owner = signed_in(browser, site, "prof1")
    owner.goto(site.url("/courses"))
    row = owner.locator(f"tr[data-course={PLATFORM}-2]")  # UB1-001, prof1's alone
    row.get_by_role("link", name=re.compile("Migrer")).click()
    owner.get_by_label("Code(s) Apogée").fill("AU000294")
    owner.get_by_role("button", name="Lancer la migration").click()
    owner.wait_for_url(re.compile(r"/migration/\d+$"))
    migration_id = int(owner.url.rsplit("/", 1)[1])

    stranger = signed_in(browser, site, "prof3")
    answer = stranger.goto(site.url(f"/migration/{migration_id}"))
    assert answer is not None
    assert answer.status == 404
    expect(stranger.get_by_role("alert")).to_contain_text("Aucune migration")
    token = stranger.locator("input[name=csrf_token]").first.get_attribute("value")
    cancel = stranger.request.post(
        site.url(f"/migration/{migration_id}/cancel"), form={"csrf_token": token or ""}
    )
    assert cancel.status == 404
    with httpx.Client(base_url=site.base, timeout=10) as api:
        headers = {"authorization": "Bearer demo-plugin", "x-fusion-acting-user": "prof3"}
        assert (
            api.get(f"/migrations/v1/migrations/{migration_id}", headers=headers).status_code == 404
        )
        refused = api.post(f"/migrations/v1/migrations/{migration_id}/cancel", headers=headers)
        assert refused.status_code == 404
        headers["x-fusion-acting-user"] = "prof1"
        mine = api.get(f"/migrations/v1/migrations/{migration_id}", headers=headers)
        assert mine.status_code == 200
        assert mine.json()["state"] != "cancelled"
