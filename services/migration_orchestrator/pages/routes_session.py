"""Home, the development login, sign-out and the language choice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from fusion.errors import NotFound
from fusion.web.i18n import LANGUAGES
from services.migration_orchestrator.pages.deps import CsrfDep, PagesDep
from services.migration_orchestrator.pages.resources import PAGES_PREFIX

router = APIRouter(prefix=PAGES_PREFIX, include_in_schema=False)


def redirect(request_path: str) -> RedirectResponse:
    return RedirectResponse(request_path, status_code=303)


@router.get("/")
async def home(request: Request, pages: PagesDep) -> Response:
    user = pages.web.user(request)
    if user is None and pages.web.settings.web_dev_login:
        return redirect(f"{PAGES_PREFIX}/login")
    return pages.web.render(request, "home.html", {"section": "home"})


class DevLoginDisabled(NotFound):
    code = "dev_login_disabled"


def _dev_login_enabled(pages: PagesDep) -> None:
    if not pages.web.settings.web_dev_login:
        raise DevLoginDisabled(
            "Sign in through the university's portal.",
            message_fr="Connectez-vous par le portail de l'université.",
        )


@router.get("/login")
async def login_page(request: Request, pages: PagesDep) -> Response:
    _dev_login_enabled(pages)
    settings = pages.web.settings
    users = [(name, name in settings.web_admins) for name in settings.web_dev_users]
    return pages.web.render(request, "login.html", {"users": users, "section": "login"})


@router.post("/login")
async def login(
    request: Request, pages: PagesDep, _: CsrfDep, username: Annotated[str, Form()] = ""
) -> Response:
    _dev_login_enabled(pages)
    if username not in pages.web.settings.web_dev_users:
        return pages.web.render(
            request,
            "login.html",
            {"users": [], "error": True, "section": "login"},
            status_code=400,
        )
    response = redirect(f"{PAGES_PREFIX}/")
    pages.web.sign_in(response, username)
    return response


@router.post("/logout")
async def logout(pages: PagesDep, _: CsrfDep) -> Response:
    response = redirect(f"{PAGES_PREFIX}/")
    pages.web.sign_out(response)
    return response


@router.post("/language")
async def choose_language(
    pages: PagesDep,
    _: CsrfDep,
    language: Annotated[str, Form()] = "fr",
    next_page: Annotated[str, Form(alias="next")] = "",
) -> Response:
    # Only a page of ours: a form field must not turn this into an open redirect.
    target = next_page if next_page.startswith(f"{PAGES_PREFIX}/") else f"{PAGES_PREFIX}/"
    response = redirect(target)
    if language in LANGUAGES:
        pages.web.remember_language(response, language)
    return response
