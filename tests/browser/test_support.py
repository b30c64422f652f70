"""Support staff: platforms and sync runs at a glance, per-course errors downloaded as CSV."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, api, check_page, create_course_space, signed_in

pytestmark = pytest.mark.slow


def test_support_reads_a_sync_run_and_downloads_its_errors(site: Site, browser: Browser) -> None:
    teacher = signed_in(browser, site, "prof4")
    course_id = create_course_space(
        teacher,
        site,
        fullname="Analyse (CSV)",
        shortname=f"CSV-{uuid.uuid4().hex[:6]}",
        codes="AU000294",
    )
    with api(site, "demo-admin") as client:
        run = client.post(f"/sync/v1/courses/{course_id}:sync", json={}).json()["run"]
        for _ in range(60):
            if client.get(f"/sync/v1/runs/{run['id']}").json()["status"] == "completed":
                break
            teacher.wait_for_timeout(250)

    page = signed_in(browser, site, "support")
    page.get_by_role("link", name="Administration").first.click()
    expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="répond").first).to_be_visible()  # a platform answers
    check_page(page, "admin-dashboard")

    page.get_by_role("link", name=f"Synchronisation n° {run['id']}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(run["id"]))
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=str(course_id)))
    expect(row).to_contain_text("appliquée")
    check_page(page, "admin-sync-run")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Télécharger les erreurs")).click()
    download = download_info.value
    assert download.suggested_filename == f"sync-{run['id']}-errors.csv"
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    missing = [r for r in rows if r["kind"] == "missing_user"]
    assert missing, rows
    assert {r["course_id"] for r in missing} == {str(course_id)}
    assert all(r["cod_etu"].isdigit() for r in missing)


def test_a_teacher_is_refused_the_administration(site: Site, browser: Browser) -> None:
    page = signed_in(browser, site, "prof2")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    response = page.goto(site.url("/admin"))
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("réservée à l'équipe d'appui")
    check_page(page, "admin-refused")
