"""Adding the pages to the orchestrator's app: routes, static files, errors shown as pages."""

from __future__ import annotations

import inspect
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from fusion.errors import BadRequest, FusionError, NotFound, error_response
from fusion.web import STATIC, Web
from services.migration_orchestrator.pages import (
    routes_admin,
    routes_identity,
    routes_migrations,
    routes_session,
    routes_teacher,
)
from services.migration_orchestrator.pages.deps import NotSignedIn
from services.migration_orchestrator.pages.resources import PAGES_PREFIX


def install_pages(app: FastAPI, web: Web) -> None:
    for module in (
        routes_session,
        routes_teacher,
        routes_migrations,
        routes_admin,
        routes_identity,
    ):
        app.include_router(module.router)
    app.mount(f"{PAGES_PREFIX}/static", StaticFiles(directory=STATIC), name="pages-static")

    async def page_errors(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FusionError)
        if not request.url.path.startswith(f"{PAGES_PREFIX}/") or _wants_json(request):
            return error_response(exc)  # what the kit's handler answers
        return show_error(request, exc, web)

    app.add_exception_handler(FusionError, page_errors)

    # An address of the pages that matches no page, or a malformed one (/migration/abc): a
    # page in the reader's language, not the API's JSON envelope.
    api_validation = app.exception_handlers.get(RequestValidationError)
    api_http = app.exception_handlers.get(StarletteHTTPException)

    async def page_validation(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(f"{PAGES_PREFIX}/") and not _wants_json(request):
            error = BadPageAddress(
                "This address of a page is not valid: go back and follow a link.",
                message_fr="Cette adresse de page n'est pas valide : revenez en arrière et "
                "suivez un lien.",
            )
            return show_error(request, error, web)
        return await _answer(api_validation, request, exc)

    async def page_missing(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        pages = request.url.path.startswith(f"{PAGES_PREFIX}/") and not _wants_json(request)
        if pages and exc.status_code == 404:
            error = NoSuchPage("This page does not exist.", message_fr="Cette page n'existe pas.")
            return show_error(request, error, web)
        return await _answer(api_http, request, exc)

    if api_validation is not None:
        app.add_exception_handler(RequestValidationError, page_validation)
    if api_http is not None:
        app.add_exception_handler(StarletteHTTPException, page_missing)


async def _answer(handler: Any, request: Request, exc: Exception) -> Response:
    """What the kit's own handler answers (the API's envelope)."""
    answer = handler(request, exc)
    return cast(Response, await answer if inspect.isawaitable(answer) else answer)


class BadPageAddress(BadRequest):
    code = "bad_page_address"


class NoSuchPage(NotFound):
    code = "no_such_page"


def _wants_json(request: Request) -> bool:
    return "/api/" in request.url.path or "application/json" in request.headers.get("accept", "")


def show_error(request: Request, error: FusionError, web: Web) -> Response:
    if isinstance(error, NotSignedIn) and web.settings.web_dev_login:
        return RedirectResponse(f"{PAGES_PREFIX}/login", status_code=303)
    translator = web.translator(request)
    titles = {
        401: translator.gettext("Who are you?"),
        403: translator.gettext("Not allowed"),
        404: translator.gettext("Not found"),
        429: translator.gettext("Too soon"),
    }
    context = {
        "title": titles.get(error.status_code, translator.gettext("Something went wrong")),
        "message": translator.pick(error.message, error.message_fr),
    }
    return web.render(request, "error.html", context, status_code=error.status_code)
