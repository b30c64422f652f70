"""The pages' kit: one Jinja2 layout, the signed-in user, CSRF and the language of each request.

Who the user is comes from the SSO reverse proxy's header, believed only from a configured
address (``fusion.auth.sso_user``); the all-in-one mode adds a development login whose choice is
kept in a signed cookie. Every form carries a CSRF token bound to the browser's session id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from fusion.auth import sso_user
from fusion.errors import Forbidden
from fusion.web.i18n import LANGUAGE_COOKIE, Language, Translator, choose_language
from fusion.web.settings import WebFragment
from fusion.web.signing import Signer, new_session_id

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "fusion_sid"
USER_COOKIE = "fusion_user"
ONE_YEAR = 365 * 24 * 3600
SIGN_IN_SECONDS = 12 * 3600


@dataclass(frozen=True)
class WebUser:
    username: str
    is_admin: bool


class CsrfRejected(Forbidden):
    code = "csrf_rejected"


class Web:
    def __init__(
        self, settings: WebFragment, *, template_dirs: Sequence[Path], prefix: str
    ) -> None:
        if settings.web_secret_key is None:
            raise ValueError("the pages need a secret key")
        self.settings = settings
        self.prefix = prefix
        self.signer = Signer(settings.web_secret_key.get_secret_value())
        self.env = Environment(
            loader=FileSystemLoader([*map(str, template_dirs), str(TEMPLATES)]),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
        )
        self.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

    # --- who, in which language ------------------------------------------------------------

    def user(self, request: Request) -> WebUser | None:
        username = sso_user(request) or self._dev_user(request)
        if username is None:
            return None
        return WebUser(username=username, is_admin=username in self.settings.web_admins)

    def _dev_user(self, request: Request) -> str | None:
        if not self.settings.web_dev_login:
            return None
        value = self.signer.unsign("user", request.cookies.get(USER_COOKIE))
        username = (value or {}).get("u")
        return username if username in self.settings.web_dev_users else None

    def language(self, request: Request) -> Language:
        return choose_language(request.cookies.get(LANGUAGE_COOKIE))

    def translator(self, request: Request) -> Translator:
        return Translator(self.language(request), timezone=self.settings.web_timezone)

    # --- CSRF -------------------------------------------------------------------------------

    def session_id(self, request: Request) -> str:
        existing = request.cookies.get(SESSION_COOKIE) or getattr(request.state, "new_sid", None)
        if existing:
            return str(existing)
        request.state.new_sid = new_session_id()
        return str(request.state.new_sid)

    def check_csrf(self, request: Request, token: str | None) -> None:
        if not self.signer.csrf_valid(request.cookies.get(SESSION_COOKIE), token):
            raise CsrfRejected(
                "This form expired or did not come from Fusion: reload the page and try again.",
                message_fr="Ce formulaire a expiré ou ne vient pas de Fusion : rechargez la page "
                "et recommencez.",
            )

    # --- responses --------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        translator = self.translator(request)
        csrf = self.signer.csrf_token(self.session_id(request))
        values = {
            "request": request,
            "user": self.user(request),
            "lang": translator.language,
            "t": translator,
            "csrf_token": csrf,
            "csrf_field": Markup('<input type="hidden" name="csrf_token" value="%s">') % csrf,
            "prefix": self.prefix,
            "dev_login": self.settings.web_dev_login,
            "gettext": _newstyle(translator.gettext),
            "_": _newstyle(translator.gettext),
            "ngettext": _newstyle_plural(translator.ngettext),
            **(context or {}),
        }
        html = self.env.get_template(template).render(values)
        response = HTMLResponse(html, status_code=status_code)
        self.keep_session(request, response)
        return response

    def keep_session(self, request: Request, response: Response) -> None:
        new_sid = getattr(request.state, "new_sid", None)
        if new_sid and not request.cookies.get(SESSION_COOKIE):
            self._cookie(response, SESSION_COOKIE, new_sid, max_age=None)

    def remember_language(self, response: Response, language: Language) -> None:
        self._cookie(response, LANGUAGE_COOKIE, language, max_age=ONE_YEAR, http_only=False)

    def sign_in(self, response: Response, username: str) -> None:
        signed = self.signer.sign("user", {"u": username})
        self._cookie(response, USER_COOKIE, signed, max_age=SIGN_IN_SECONDS)

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(USER_COOKIE, path="/")

    def _cookie(
        self,
        response: Response,
        name: str,
        value: str,
        *,
        max_age: int | None,
        http_only: bool = True,
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=http_only,
            samesite="lax",
            secure=self.settings.web_cookie_secure,
        )


def _newstyle(gettext: Any) -> Any:
    def translate(message: str, **variables: Any) -> str:
        text = Markup(gettext(message))
        return text % variables if variables else text

    return translate


def _newstyle_plural(ngettext: Any) -> Any:
    def translate(singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        return Markup(ngettext(singular, plural, n)) % variables

    return translate
