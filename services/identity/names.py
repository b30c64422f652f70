"""Folding and comparing French names: accents, ligatures, particles, compound surnames.

``unicodedata``'s NFKD drops accents but keeps ``œ``, ``æ`` and ``ß`` whole (reliability.md
§10), so those are mapped first. Comparisons work on folded token lists so that
"Dupont-Martin", "DUPONT MARTIN" and "Martin épouse Dupont" share their tokens.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o", "ł": "l"}
)
_SEPARATORS = re.compile(r"[\s\-‐‑–—_'’`.,]+")
# Particles and the words that join a married name to a birth name carry no identity.
_NOISE = frozenset({"de", "du", "des", "le", "la", "les", "d", "l", "van", "von", "der"})
_MARRIAGE = frozenset({"epouse", "ep", "nee", "veuve", "vve", "epse"})


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower case, no accent, no ligature, separators as single spaces."""
    if text.isascii():  # most logins and addresses: no decomposition to do
        return _SEPARATORS.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", bare.casefold()).strip()


@lru_cache(maxsize=200_000)
def name_tokens(text: str) -> tuple[str, ...]:
    """The folded tokens of a name, without particles or marriage words."""
    return tuple(t for t in fold(text).split() if t not in _NOISE and t not in _MARRIAGE)


def surname_score(left: str, right: str) -> float:
    """0–100: compound and married surnames score high when one holds the other's tokens."""
    a, b = name_tokens(left), name_tokens(right)
    if not a or not b:
        return 0.0
    return float(fuzz.token_set_ratio(" ".join(a), " ".join(b)))


def given_score(left: str, right: str) -> float:
    """0–100: Jaro–Winkler on the folded given names, in either order of their parts."""
    a, b = " ".join(name_tokens(left)), " ".join(name_tokens(right))
    if not a or not b:
        return 0.0
    ordered = 100.0 * JaroWinkler.normalized_similarity(a, b)
    return max(ordered, float(fuzz.token_sort_ratio(a, b)))


def full_name_key(firstname: str, lastname: str) -> str:
    """The string the fuzzy stage compares: sorted folded tokens of both names."""
    return " ".join(sorted(name_tokens(firstname) + name_tokens(lastname)))


@lru_cache(maxsize=200_000)
def email_local_part(email: str) -> str:
    local, _, _ = email.strip().lower().partition("@")
    return fold(local).replace(" ", ".")
