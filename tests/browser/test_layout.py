"""The one layout: signing in, the home page, a phone's width, the keyboard's first stop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, check_page, signed_in

pytestmark = pytest.mark.slow


def test_the_landing_page_leads_to_the_pages(site: Site, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(site.base + "/")
    page.get_by_role("link", name="Ouvrir Fusion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion de démonstration")
    check_page(page, "login")
    page.close()


def test_home_shows_each_user_what_they_may_do(site: Site, browser: Browser) -> None:
    teacher = signed_in(browser, site, "prof1")
    expect(teacher.get_by_role("heading", name="Mes cours")).to_be_visible()
    expect(teacher.get_by_role("heading", name="Administration")).to_have_count(0)
    check_page(teacher, "home-teacher")
    support = signed_in(browser, site, "support")
    expect(support.get_by_role("heading", name="Administration")).to_be_visible()
    check_page(support, "home-support")


def test_my_courses_fit_a_phone_and_start_with_a_skip_link(site: Site, browser: Browser) -> None:
    page = signed_in(browser, site, "prof1")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site.url("/courses"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes cours")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Aller au contenu")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    check_page(page, "my-courses-phone")
