"""Support: a batch by CSV with one bad line, then a failed migration retried once mended."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from .harness import Site, check_page, signed_in

pytestmark = pytest.mark.slow


def _target(site: Site, function: str, **params: object) -> object:
    answer = httpx.post(
        f"{site.base}/sim/target/webservice/rest/server.php",
        data={
            "wstoken": "target-token",
            "moodlewsrestformat": "json",
            "wsfunction": function,
            **params,
        },
        timeout=10,
    )
    return answer.json()


def _category(site: Site, name: str) -> int:
    created = _target(
        site,
        "core_course_create_categories",
        **{"categories[0][name]": name, "categories[0][parent]": 0},
    )
    assert isinstance(created, list), created
    return int(created[0]["id"])


def _source_fullname(site: Site, platform: str, course_id: int) -> str:
    answer = httpx.post(
        f"{site.base}/sim/{platform}/webservice/rest/server.php",
        data={
            "wstoken": f"{platform}-token",
            "moodlewsrestformat": "json",
            "wsfunction": "core_course_get_courses_by_field",
            "field": "id",
            "value": course_id,
        },
        timeout=10,
    )
    return str(answer.json()["courses"][0]["fullname"])


def test_support_uploads_a_batch_then_retries_the_migration_that_failed(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    # A category that does not exist yet and that Moodle will hand out later: ids only grow,
    # and each restore makes (then deletes) an area category of its own, so it is taken well
    # ahead of the next id.
    probe = _category(site, "Sonde")
    _target(site, "core_course_delete_categories", **{"categories[0][id]": probe})
    missing = probe + 20
    batch = tmp_path / "lot.csv"
    batch.write_text(
        "source_platform,source_course_id,target_category_id,apogee_codes\n"
        "ub4,6,1,AU000294\n"
        f"ub4,7,{missing},AU000294\n"
        "ub4,3,1,\n",  # line 4: no Apogée code
        encoding="utf-8",
    )
    page = signed_in(browser, site, "support")
    page.goto(site.url("/admin"))
    page.get_by_label("Fichier CSV").set_input_files(batch)
    page.get_by_role("button", name="Vérifier et mettre le lot en file").click()
    expect(page.get_by_role("status")).to_contain_text("2 migrations mises en file")
    expect(page.get_by_role("status")).to_contain_text("1 ligne refusée")
    refused = page.locator("tr[data-line='4']")
    expect(refused).to_contain_text("au moins un code Apogée valide")
    expect(page.locator("tr[data-line]")).to_have_count(1)
    check_page(page, "admin-batch-report")
    failing = int(
        page.get_by_role("link", name=re.compile("Migration n°"))
        .nth(1)
        .inner_text()
        .rsplit(" ", 1)[1]
    )

    page.goto(site.url("/admin"))
    row = page.locator(f"tr[data-migration='{failing}']")
    for _ in range(60):  # the batch runs behind: its restore fails within a few reloads
        if row.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    # the category is missing: Moodle refuses the restore area under it, and the row says so
    expect(row).to_contain_text(f"La catégorie cible n° {missing} n'existe pas")
    check_page(page, "admin-failed-migration")

    created = _category(site, "Licence Sciences")
    for _ in range(40):  # bounded: up to the id the failed migration names
        if created >= missing:
            break
        _target(site, "core_course_delete_categories", **{"categories[0][id]": created})
        created = _category(site, "Licence Sciences")
    assert created == missing
    row.get_by_role("button", name=re.compile("Relancer")).click()
    page.wait_for_url(re.compile(rf"/migration/{failing}$"))
    expect(page.locator(".timeline")).to_contain_text("relancée par support")
    # a batch line names no course: the page names it as its platform did at request time
    name = _source_fullname(site, "ub4", 7)
    expect(page.locator("h1")).to_have_text(f"Migration de « {name} »")
    expect(page.locator(".migration-state")).to_have_text("Terminée", timeout=90_000)
    check_page(page, "admin-retried-migration-done")
