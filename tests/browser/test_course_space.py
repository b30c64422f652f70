"""A teacher creates a course space: a wrong then a right Apogée code, then syncs it now."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, api, check_page, create_course_space, signed_in

pytestmark = pytest.mark.slow
CLOSED_CODE = "BU001328"  # closed in the demo Apogée (checked below, not assumed)
VALID_CODE = "AU000294"  # UE1 Droit des obligations


def test_codes_used_here_are_what_the_demo_apogee_says(site: Site) -> None:
    with api(site, "demo-service") as client:
        body = {"codes": [CLOSED_CODE, VALID_CODE, "AU00029X"]}
        answer = client.post("/apogee/v1/codes:validate", json=body).json()
    assert [r["status"] for r in answer["results"]] == ["closed", "valid", "unknown"]


def test_teacher_creates_a_course_space_after_a_wrong_code(site: Site, browser: Browser) -> None:
    page = signed_in(browser, site, "prof1")
    page.goto(site.url("/courses/new"))
    check_page(page, "course-space-form")
    shortname = f"L3-OBLIG-{uuid.uuid4().hex[:6]}".upper()
    page.get_by_label("Nom complet").fill("Droit des obligations — L3")
    page.get_by_label("Nom abrégé").fill(shortname)
    page.get_by_label("Code(s) Apogée").fill(f"AU00029X {CLOSED_CODE}")
    page.get_by_role("button", name="Créer mon espace de cours").click()

    expect(page.get_by_role("alert").first).to_contain_text("pas encore créé")
    unknown = page.locator(".code-problem[data-code=AU00029X]")
    expect(unknown).to_contain_text("n'existe pas dans Apogée")
    expect(unknown).to_contain_text("Vouliez-vous dire")
    closed = page.locator(f".code-problem[data-code={CLOSED_CODE}]")
    expect(closed).to_contain_text("ne peut pas inscrire vos étudiants")
    expect(closed).to_contain_text("fermé dans Apogée")
    expect(page.get_by_label("Nom complet")).to_have_value("Droit des obligations — L3")
    check_page(page, "course-space-invalid-codes")

    # The right code, found by its label without accents and chosen with the keyboard.
    page.get_by_label("Code(s) Apogée").fill("")
    search = page.get_by_role("combobox", name=re.compile("Chercher un code"))
    search.press_sequentially("droit des obligations", delay=20)
    expect(page.get_by_role("option", name=re.compile(VALID_CODE))).to_be_visible()
    check_page(page, "course-space-autocomplete")
    search.press("ArrowDown")
    search.press("Enter")
    expect(page.get_by_label("Code(s) Apogée")).to_have_value(VALID_CODE)
    page.get_by_role("button", name="Créer mon espace de cours").click()

    page.wait_for_url(re.compile(r"/courses\?created=\d+$"))
    course_id = int(page.url.rsplit("=", 1)[1])
    expect(page.get_by_role("status").first).to_contain_text("Votre espace de cours est créé")
    card = page.locator(f"section[aria-labelledby=course-{course_id}]")
    expect(card).to_contain_text("Droit des obligations — L3")
    expect(card).to_contain_text(VALID_CODE)
    expect(card).to_contain_text("jamais synchronisé")
    check_page(page, "course-space-created")

    with api(site, "demo-admin") as client:
        methods = client.get("/sync/v1/methods", params={"course_id": course_id}).json()
    assert [(m["code"], m["course_created_empty"]) for m in methods["data"]] == [(VALID_CODE, True)]


def test_sync_now_shows_counts_then_says_when_it_is_too_soon(site: Site, browser: Browser) -> None:
    page = signed_in(browser, site, "prof3")
    shortname = f"OBLIG-{uuid.uuid4().hex[:6]}".upper()
    course_id = create_course_space(
        page, site, fullname="Obligations (TD)", shortname=shortname, codes=VALID_CODE
    )
    card = page.locator(f"section[aria-labelledby=course-{course_id}]")
    card.get_by_role("button", name=re.compile("Synchroniser maintenant")).click()
    expect(page.get_by_role("status").first).to_contain_text("synchronisation de votre cours")

    for _ in range(30):  # the run is queued: its result shows within a few reloads
        if "étudiants inscrits" in card.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(card).to_contain_text(re.compile(r"\d+ étudiants inscrits"))
    expect(card).to_contain_text("sans compte")
    check_page(page, "my-courses-after-sync")

    card.get_by_role("button", name=re.compile("Synchroniser maintenant")).click()
    expect(page.get_by_role("alert").first).to_contain_text("vient d'être synchronisé")
    check_page(page, "my-courses-sync-too-soon")
