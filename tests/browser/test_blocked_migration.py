"""Support: a migration blocked by an identity conflict, resolved by a plan, resumed, done."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, api, check_page, signed_in

pytestmark = pytest.mark.slow
PLATFORM, COURSE = "ub1", 5  # UB1-004, which no other browser test migrates


def _moodle(site: Site, platform: str, function: str, **params: object) -> Any:
    answer = httpx.post(
        f"{site.base}/sim/{platform}/webservice/rest/server.php",
        data={
            "wstoken": f"{platform}-token",
            "moodlewsrestformat": "json",
            "wsfunction": function,
            **params,
        },
        timeout=10,
    )
    body = answer.json()
    assert not (isinstance(body, dict) and "exception" in body), body
    return body


def _email(site: Site, moodle_id: int) -> str:
    found = _moodle(
        site, PLATFORM, "core_user_get_users_by_field", **{"field": "id", "values[0]": moodle_id}
    )
    return str(found[0]["email"])


def _a_student_who_changed_email(site: Site) -> dict[str, Any]:
    """One student of the course changed e-mail on ub1; the merged platform already holds them
    with the directory's address (the demo directory: uid@etu.univ-demo.fr)."""
    enrolled = _moodle(site, PLATFORM, "core_enrol_get_enrolled_users", courseid=COURSE)
    student = next(u for u in enrolled if "student" in {r["shortname"] for r in u["roles"]})
    student["canonical"] = f"{student['username']}@etu.univ-demo.fr"
    student["drifted"] = f"{student['username']}.perso@old-mail.fr"
    update = {"users[0][id]": student["id"], "users[0][email]": student["drifted"]}
    _moodle(site, PLATFORM, "core_user_update_users", **update)
    held = _moodle(
        site,
        "target",
        "core_user_get_users_by_field",
        **{"field": "username", "values[0]": student["username"]},
    )
    if held:  # restored with an earlier migration: it holds the directory's address
        fix = {"users[0][id]": held[0]["id"], "users[0][email]": student["canonical"]}
        _moodle(site, "target", "core_user_update_users", **fix)
    else:
        account = {
            "users[0][username]": student["username"],
            "users[0][auth]": "cas",
            "users[0][firstname]": student["firstname"],
            "users[0][lastname]": student["lastname"],
            "users[0][email]": student["canonical"],
        }
        _moodle(site, "target", "core_user_create_users", **account)
    return student


def _poll(read: Any, done: Any, *, tries: int = 240) -> Any:
    value = read()
    for _ in range(tries):  # bounded, 0.25 s apart
        if done(value):
            return value
        time.sleep(0.25)
        value = read()
    raise AssertionError(f"still not there: {value}")


def _blocked_migration(site: Site) -> int:
    """Support reloads ub1's accounts into identity, then asks for the migration: blocked."""
    with api(site, "demo-admin") as admin:
        started = admin.post(
            "/identity/v1/imports", json={"source": "moodle_ws", "platform": PLATFORM}
        )
        assert started.status_code == 202, started.text
        job = _poll(
            lambda: admin.get(f"/identity/v1/imports/{started.json()['id']}").json(),
            lambda j: j["state"] not in ("queued", "running"),
        )
        assert job["state"] == "done", job
        body = {
            "source_platform": PLATFORM,
            "source_course_id": COURSE,
            "target_category_id": 1,
            "apogee_codes": ["AU000294"],
        }
        asked = admin.post("/migrations/v1/migrations", json=body)
        assert asked.status_code == 201, asked.text
        migration_id = int(asked.json()["id"])
        found = _poll(
            lambda: admin.get(f"/migrations/v1/migrations/{migration_id}").json(),
            lambda m: m["state"] in ("done", "failed", "blocked", "cancelled"),
        )
    assert (found["state"], found["step"]) == ("blocked", "identity"), found
    return migration_id


def test_support_resolves_a_blocked_migration_with_a_plan_and_resumes_it(
    site: Site, browser: Browser
) -> None:
    student = _a_student_who_changed_email(site)
    migration_id = _blocked_migration(site)

    teacher = signed_in(browser, site, "prof4")  # UB1-004's teacher in the demo
    teacher.goto(site.url(f"/migration/{migration_id}"))
    expect(teacher.locator(".migration-state")).to_have_text("Bloquée")
    expect(teacher.locator(f"[data-conflict-user='{student['username']}']")).to_be_visible()
    expect(teacher.get_by_role("button", name=re.compile("plan d'homogénéisation"))).to_have_count(
        0
    )
    expect(teacher.get_by_role("button", name="Reprendre la migration")).to_have_count(0)

    page = signed_in(browser, site, "support")
    page.goto(site.url(f"/migration/{migration_id}"))
    expect(page.locator(".migration-state")).to_have_text("Bloquée")
    expect(page.get_by_role("heading", name="1 utilisateur bloque la restauration")).to_be_visible()
    expect(page.locator(f"[data-conflict-user='{student['username']}']")).to_contain_text("2D")
    expect(page.get_by_role("link", name=re.compile("Voir les conflits"))).to_be_visible()
    check_page(page, "migration-blocked-by-identity")

    page.get_by_role(
        "button", name=f"Préparer un plan d'homogénéisation pour {PLATFORM} (aperçu)"
    ).click()
    page.wait_for_url(re.compile(rf"/admin/identity/plans/\d+\?migration={migration_id}$"))
    expect(page.locator(".plan-state")).to_have_text("prêt à approuver")
    change = page.locator(f"tr[data-account='{student['id']}'][data-field=email]").first
    expect(change).to_contain_text(student["drifted"])
    expect(change).to_contain_text(student["canonical"])
    assert _email(site, student["id"]) == student["drifted"]  # a preview changes nothing
    check_page(page, "identity-plan-from-blocked-migration")

    page.get_by_role("button", name=f"Approuver et appliquer sur {PLATFORM}").click()
    for _ in range(60):  # applied in the background, round by round
        if page.locator(".plan-state").inner_text() == "appliqué":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator(".plan-state")).to_have_text("appliqué")
    assert _email(site, student["id"]) == student["canonical"]

    page.get_by_role("link", name=f"Retour à la migration n° {migration_id}").click()
    page.wait_for_url(re.compile(rf"/migration/{migration_id}$"))
    page.get_by_role("button", name="Reprendre la migration").click()
    page.wait_for_url(re.compile(rf"/migration/{migration_id}$"))
    expect(page.locator(".timeline")).to_contain_text("reprise par support")
    expect(page.locator(".migration-state")).to_have_text("Terminée", timeout=90_000)
    # The old backup still held the old e-mail: the migration took a new one.
    expect(page.locator(".timeline")).to_contain_text(
        "nouvelle sauvegarde, les comptes ayant été corrigés"
    )
    check_page(page, "migration-resumed-done")
