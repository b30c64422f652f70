"""The pages' kit in process: who is believed, CSRF, languages, redirects, the catalogues."""

from __future__ import annotations

import html
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fusion.asgi import HostedApp
from fusion.db import Database
from fusion.testing.processes import free_port
from fusion.testing.serving import serving
from fusion.web.i18n import LANGUAGE_COOKIE, Translator, catalogue_path
from services.enrolment_sync.lifecycle import RunStatus
from services.identity.lifecycle import PlanState
from services.migration_orchestrator.app import create_app
from services.migration_orchestrator.migrations.models import Migration, metadata
from services.migration_orchestrator.migrations.states import State as MigrationState
from services.migration_orchestrator.migrations.states import Step
from services.migration_orchestrator.pages.labels import (
    LOG_LEVEL_LABELS,
    PLAN_STATE_LABELS,
    PLAN_STEP_LABELS,
    STEP_LABELS,
    SYNC_STATUS_LABELS,
)
from services.migration_orchestrator.pages.migrations_view import STATE_LABELS
from services.migration_orchestrator.settings import Settings
from tests.security.services import sync_service

PAGES = "/migrations/pages"
KEY = "a-test-key-of-enough-length"


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/orchestrator.db",
        "database_create_tables": True,
        "web_secret_key": KEY,
        "web_admins": ["chef"],
        "web_cookie_secure": False,
        "trusted_proxies": ["10.0.0.0/8"],
        "pages_apogee_token": "t-apogee",
        "pages_sync_token": "t-sync",
        "pages_sync_plugin_token": "t-plugin",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def browser_from(address: str, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_settings(**overrides))
    async with HostedApp(app).running() as hosted:
        transport = httpx.ASGITransport(app=hosted, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://fusion") as client:
            yield client


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_the_sso_header_is_believed_only_from_a_trusted_proxy() -> None:
    header = {"x-remote-user": "jdupont"}
    async with browser_from("10.1.2.3") as trusted:
        page = await trusted.get(f"{PAGES}/", headers=header)
        assert page.status_code == 200
        assert '<span class="who">jdupont</span>' in page.text
    async with browser_from("192.0.2.7") as stranger:
        page = await stranger.get(f"{PAGES}/", headers=header)
        assert "jdupont" not in page.text
        assert "Fusion ne sait pas qui vous êtes" in page.text
        refused = await stranger.get(f"{PAGES}/courses/new", headers=header)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("text/html")


async def test_administration_is_for_the_configured_administrators_only() -> None:
    async with browser_from("10.1.2.3") as browser:
        page = await browser.get(f"{PAGES}/admin", headers={"x-remote-user": "jdupont"})
        assert page.status_code == 403
        assert "réservée à l'équipe d'appui" in html.unescape(page.text)


async def test_the_development_login_exists_only_where_it_is_enabled() -> None:
    async with browser_from("10.1.2.3") as browser:
        assert (await browser.get(f"{PAGES}/login")).status_code == 404
    with pytest.raises(ValueError, match="development login"):
        _settings(environment="production", web_dev_login=True)


async def test_a_signed_in_developer_user_must_be_listed() -> None:
    dev = {"web_dev_login": True, "web_dev_users": ["prof1"]}
    async with browser_from("192.0.2.7", **dev) as browser:
        login = await browser.get(f"{PAGES}/login")
        token = _token(login.text)
        refused = await browser.post(
            f"{PAGES}/login", data={"csrf_token": token, "username": "intrus"}
        )
        assert refused.status_code == 400
        signed = await browser.post(
            f"{PAGES}/login", data={"csrf_token": token, "username": "prof1"}
        )
        assert signed.status_code == 303
        home = await browser.get(f"{PAGES}/")
        assert '<span class="who">prof1</span>' in home.text


async def test_language_is_french_first_and_the_choice_is_kept() -> None:
    async with browser_from("10.1.2.3") as browser:
        headers = {"x-remote-user": "jdupont", "accept-language": "en-GB,en;q=0.9"}
        home = await browser.get(f"{PAGES}/", headers=headers)
        assert '<html lang="fr">' in home.text
        forged = await browser.post(f"{PAGES}/language", data={"language": "en"})
        assert forged.status_code == 403
        chosen = await browser.post(
            f"{PAGES}/language",
            data={"csrf_token": _token(home.text), "language": "en", "next": "https://evil/"},
            headers=headers,
        )
        assert chosen.status_code == 303
        assert chosen.headers["location"] == f"{PAGES}/"  # never an open redirect
        again = await browser.get(f"{PAGES}/", headers=headers)
        assert '<html lang="en">' in again.text
        assert "Your course spaces on the merged Moodle" in again.text


def test_pages_served_need_their_tokens() -> None:
    with pytest.raises(ValueError, match="PAGES_SYNC_PLUGIN_TOKEN"):
        _settings(pages_sync_plugin_token="")


def test_the_api_is_unchanged_when_no_key_enables_the_pages() -> None:
    app = create_app(_settings(web_secret_key=None))
    assert not [r for r in app.routes if getattr(r, "path", "").startswith(PAGES)]


def test_every_message_of_the_pages_has_its_french_translation() -> None:
    root = Path(__file__).resolve().parents[2]
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    wanted = set()
    for folder in ("fusion/web", "services/migration_orchestrator/pages"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            root / folder,
            method_map,
            options,
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
        ):
            wanted.add(message[0] if isinstance(message, tuple) else message)
    with catalogue_path("fr").open("rb") as source:
        french = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in read_po(source) if m.id}
    assert wanted - set(french) == set(), "run pybabel extract/update (fusion/web/babel.cfg)"
    untranslated = [key for key, m in french.items() if not all(m.string or [])]
    assert untranslated == []
    assert catalogue_path("en").is_file()


def test_every_state_the_pages_show_has_a_french_and_an_english_label() -> None:
    """A state added to a service's lifecycle must not reach a page as its raw name."""
    shown: dict[str, tuple[set[str], dict[str, str]]] = {
        "migration": ({str(s) for s in MigrationState}, STATE_LABELS),
        "plan": ({str(s) for s in PlanState}, PLAN_STATE_LABELS),
        "sync run": ({str(s) for s in RunStatus}, SYNC_STATUS_LABELS),
    }
    french = Translator("fr")
    for name, (states, labels) in shown.items():
        assert states - set(labels) == set(), name
        for state, label in labels.items():
            assert french.gettext(label) != label, (name, state)  # translated, not the English
            assert Translator("en").gettext(label) == label
    assert {str(s) for s in Step} == set(STEP_LABELS)
    for labels in (PLAN_STEP_LABELS, SYNC_STATUS_LABELS, STEP_LABELS, LOG_LEVEL_LABELS):
        assert all(french.gettext(label) != label for label in labels.values())


async def test_a_wrong_page_address_is_a_page_and_the_api_keeps_its_envelope() -> None:
    async with browser_from("192.0.2.1", web_dev_login=True, web_dev_users=["prof1"]) as browser:
        page = await browser.get(f"{PAGES}/login")
        await browser.post(
            f"{PAGES}/login", data={"csrf_token": _token(page.text), "username": "prof1"}
        )
        malformed = await browser.get(f"{PAGES}/migration/abc")
        assert malformed.status_code == 400
        assert "text/html" in malformed.headers["content-type"]
        assert "Cette adresse de page n'est pas valide" in html.unescape(malformed.text)
        missing = await browser.get(f"{PAGES}/nothing-here")
        assert missing.status_code == 404
        assert "Cette page n'existe pas." in html.unescape(missing.text)
        api = await browser.get("/migrations/v1/migrations/abc")
        assert api.headers["content-type"].startswith("application/json")
        assert api.json()["error"]["code"] in ("validation_error", "unauthorized")
        unknown = await browser.get("/migrations/v1/nothing-here")
        assert unknown.headers["content-type"].startswith("application/json")


def _failed(reason: str | None, reason_fr: str | None) -> Migration:
    return Migration(
        source_platform="ub1",
        source_course_id=3,
        target_category_id=2,
        requested_by="chef",
        authorised_as="admin",
        state="failed",
        step="restore",
        reason=reason,
        reason_fr=reason_fr,
    )


def _failure_reasons(page: str) -> list[str]:
    """The dashboard's failures by reason, the most frequent first (ties in alphabetical order,
    whatever order the migrations failed in)."""
    found = re.search(r"<ul data-failure-reasons>(.*?)</ul>", page, re.DOTALL)
    assert found, "no failures by reason on the dashboard"
    items = [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1))]
    return sorted(items, key=lambda item: (-int(item.rsplit(" ", 1)[1]), item))


async def test_failures_are_grouped_by_their_reason_in_the_readers_language(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'orchestrator.db'}"
    database = Database(url)
    await database.create_all(metadata)
    refused = ("Moodle refused the restore", "Moodle a refusé la restauration")
    async with database.unit_of_work() as session:
        session.add_all([_failed(*refused), _failed(*refused)])
        session.add(_failed("identity cannot be reached", None))  # no French: the English
        session.add(_failed(None, "archive illisible"))  # no English: the French
    await database.dispose()
    async with (
        HostedApp(await sync_service(tmp_path)).running() as sync,
        serving(sync) as sync_url,
        browser_from(
            "10.1.2.3", database_url=url, pages_sync_url=sync_url, pages_sync_token="demo-service"
        ) as browser,
    ):
        chef = {"x-remote-user": "chef"}
        french = await browser.get(f"{PAGES}/admin", headers=chef)
        assert french.status_code == 200, french.text
        assert _failure_reasons(french.text) == [
            "Moodle a refusé la restauration — 2",
            "archive illisible — 1",
            "identity cannot be reached — 1",
        ]
        browser.cookies.set(LANGUAGE_COOKIE, "en")
        english = await browser.get(f"{PAGES}/admin", headers=chef)
        assert '<html lang="en">' in english.text
        assert _failure_reasons(english.text) == [
            "Moodle refused the restore — 2",
            "archive illisible — 1",
            "identity cannot be reached — 1",
        ]


async def test_identity_down_is_a_page_that_says_so_in_french_without_the_token() -> None:
    token = "pages-identity-admin-token"
    dead = f"http://127.0.0.1:{free_port()}"
    async with browser_from("10.1.2.3", pages_identity_url=dead, pages_identity_token=token) as b:
        page = await b.get(f"{PAGES}/admin/identity", headers={"x-remote-user": "chef"})
    assert page.status_code == 503
    assert "text/html" in page.headers["content-type"]
    shown = html.unescape(page.text)
    assert "Le service des identités est injoignable pour les conflits" in shown
    assert token not in shown
