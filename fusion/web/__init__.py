"""Server-rendered pages: the kit's layout, languages, CSRF and the signed-in user."""

from fusion.web.i18n import Translator
from fusion.web.pages import STATIC, CsrfRejected, Web, WebUser
from fusion.web.settings import WebFragment

__all__ = ["STATIC", "CsrfRejected", "Translator", "Web", "WebFragment", "WebUser"]
