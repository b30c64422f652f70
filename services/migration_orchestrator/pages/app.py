"""Adding the pages to the orchestrator's app: routes, static files, errors shown as pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from fusion.errors import FusionError, error_response
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
