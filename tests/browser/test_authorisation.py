"""A teacher cannot see or act on another teacher's course: through the pages and the API."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from .harness import Site, api, check_page, create_course_space, signed_in

pytestmark = pytest.mark.slow


def _csrf(page: Page) -> str:
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return token


def test_a_teacher_cannot_see_or_sync_a_colleagues_course(site: Site, browser: Browser) -> None:
    owner = signed_in(browser, site, "prof1")
    course_id = create_course_space(
        owner,
        site,
        fullname="Cours de prof1",
        shortname=f"P1-{uuid.uuid4().hex[:6]}",
        codes="AU000294",
    )

    other = signed_in(browser, site, "prof2")
    other.goto(site.url("/courses"))
    expect(other.locator(f"section[aria-labelledby=course-{course_id}]")).to_have_count(0)
    expect(other.get_by_text("Cours de prof1")).to_have_count(0)

    # A hand-made form post, with prof2's own valid CSRF token, for prof1's course.
    answer = other.request.post(
        site.url(f"/courses/{course_id}/sync"),
        form={"csrf_token": _csrf(other)},
        headers={"accept": "text/html"},
    )
    assert answer.status == 403
    assert "Seul un enseignant du cours" in answer.text()
    other.set_content(answer.text())  # to look at it and check it like a page
    check_page(other, "sync-refused-other-teacher")

    with api(site, "demo-plugin", acting_user="prof2") as prof2:
        assert prof2.post(f"/sync/v1/courses/{course_id}:sync", json={}).status_code == 403
        assert prof2.get(f"/sync/v1/courses/{course_id}/results").status_code == 403
        listed = prof2.get("/sync/v1/methods", params={"course_id": course_id}).json()
        assert listed["data"] == []
    with api(site, "demo-plugin", acting_user="prof1") as prof1:
        assert prof1.get(f"/sync/v1/courses/{course_id}/results").status_code == 200
        listed = prof1.get("/sync/v1/methods", params={"course_id": course_id}).json()
        assert [m["code"] for m in listed["data"]] == ["AU000294"]


def test_a_form_without_its_csrf_token_changes_nothing(site: Site, browser: Browser) -> None:
    owner = signed_in(browser, site, "prof5")
    course_id = create_course_space(
        owner,
        site,
        fullname="Cours CSRF",
        shortname=f"CSRF-{uuid.uuid4().hex[:6]}",
        codes="AU000294",
    )
    other_session = signed_in(browser, site, "prof5")  # the same user, another browser
    for token in ("", "forged", _csrf(other_session)):
        answer = owner.request.post(
            site.url(f"/courses/{course_id}/sync"), form={"csrf_token": token}
        )
        assert answer.status == 403, token
        assert "formulaire a expiré" in answer.text()
    with api(site, "demo-admin") as client:
        results = client.get(f"/sync/v1/courses/{course_id}/results").json()
    assert results["data"] == []  # no run was started


def test_the_language_choice_is_remembered(site: Site, browser: Browser) -> None:
    page = signed_in(browser, site, "prof2")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(site.url("/courses/new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create my course space")
    check_page(page, "course-space-form-english")
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer mon espace de cours")
