"""French first, English available: gettext catalogues read from the ``.po`` files with Babel.

The catalogues are compiled in memory when the pages start, so the repository holds only the
text that translators edit. Source strings are English; ``fr`` is the default language.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
DEFAULT_LANGUAGE: Language = "fr"
LANGUAGE_COOKIE = "fusion_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue; the page translates it when it shows it."""
    return message


def catalogue_path(language: Language) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: Language) -> gettext.NullTranslations:
    path = catalogue_path(language)
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def choose_language(cookie: str | None) -> Language:
    """The user's remembered choice, else French: the browser's own setting is not asked, as
    many teachers' browsers say English while they read French."""
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    language: Language
    timezone: str = "Europe/Paris"

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ngettext(singular, plural, n)

    def pick(self, english: str | None, french: str | None) -> str:
        """Messages that arrive in both languages (the error envelope's message/message_fr)."""
        if self.language == "fr" and french:
            return french
        return english or french or ""

    def when(self, moment: datetime | None) -> str:
        """A date and time as the reader writes it, in the university's time zone."""
        if moment is None:
            return ""
        return format_datetime(
            moment, "d MMM yyyy, HH:mm", tzinfo=ZoneInfo(self.timezone), locale=self.language
        )
