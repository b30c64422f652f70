"""What the page routes depend on: the pages' objects, the signed-in user, a valid CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from fusion.dependencies import running
from fusion.errors import Forbidden, Unauthorized
from fusion.web import Web, WebUser
from services.migration_orchestrator.pages.resources import Pages


def _pages(request: Request) -> Pages:
    pages = running(request).state.pages
    assert isinstance(pages, Pages), "the pages are served only where a web key is set"
    return pages


PagesDep = Annotated[Pages, Depends(_pages)]


class NotSignedIn(Unauthorized):
    code = "not_signed_in"


class NotAdministrator(Forbidden):
    code = "not_administrator"


def _user(request: Request, pages: PagesDep) -> WebUser:
    user = pages.web.user(request)
    if user is None:
        raise NotSignedIn(
            "Fusion does not know who you are: sign in through the university's portal.",
            message_fr="Fusion ne sait pas qui vous êtes : connectez-vous par le portail de "
            "l'université.",
        )
    return user


UserDep = Annotated[WebUser, Depends(_user)]


def _admin(user: UserDep) -> WebUser:
    if not user.is_admin:
        raise NotAdministrator(
            "This page is for the support team and administrators.",
            message_fr="Cette page est réservée à l'équipe d'appui et aux administrateurs.",
        )
    return user


AdminDep = Annotated[WebUser, Depends(_admin)]


def _csrf(request: Request, pages: PagesDep, csrf_token: Annotated[str, Form()] = "") -> None:
    pages.web.check_csrf(request, csrf_token)


CsrfDep = Annotated[None, Depends(_csrf)]


def web_of(request: Request) -> Web:
    return _pages(request).web
