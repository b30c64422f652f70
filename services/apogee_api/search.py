"""Autocomplete over the catalogue: code prefixes and words of labels, accent- and
case-insensitive, built in memory because the replica must stay untouched (no extra column,
no index of ours in Apogée).

Entries are numbered in a fixed rank order (VETs, ELPs, séries, groups; shorter labels first),
so ranking a set of matches is sorting small integers, and a query stops as soon as it has
``limit`` results that pass the kind and year filters.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator

from services.apogee_api.catalogue import Catalogue, CodeEntry, Kind, normalise_code

KIND_ORDER: dict[str, int] = {"vet": 0, "elp": 1, "serie": 2, "group": 3}
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def fold(text: str) -> str:
    """Lower case without accents or ligatures: ``Œnologie Été`` → ``oenologie ete``."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", bare).strip()


class SearchIndex:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        searchable = [entry for entry in catalogue.entries.values() if entry.closed is None]
        searchable.sort(key=lambda e: (KIND_ORDER[e.kind], len(e.label), e.code))
        self.entries = searchable
        self._codes = sorted((entry.code, rank) for rank, entry in enumerate(searchable))
        postings: dict[str, set[int]] = defaultdict(set)
        for rank, entry in enumerate(searchable):
            for word in {*fold(entry.label).split(), entry.code.lower()}:
                postings[word].add(rank)
        self._words = sorted(postings)
        self._postings = {word: frozenset(ranks) for word, ranks in postings.items()}

    def search(
        self, query: str, *, kind: Kind | None = None, year: int | None = None, limit: int = 20
    ) -> list[CodeEntry]:
        found: list[CodeEntry] = []
        seen: set[int] = set()
        for rank in self._ranked(query):
            if rank in seen:
                continue
            seen.add(rank)
            entry = self.entries[rank]
            if kind is not None and entry.kind != kind:
                continue
            if year is not None and not self.catalogue.offered(entry, year):
                continue
            found.append(entry)
            if len(found) >= limit:
                break
        return found

    def _ranked(self, query: str) -> Iterator[int]:
        """Exact code, then codes starting with the query, then label-word matches."""
        code = normalise_code(query)
        prefixed = sorted(self._code_prefix(code)) if code else []
        exact = [rank for rank in prefixed if self.entries[rank].code == code]
        yield from exact
        yield from prefixed
        yield from sorted(self._word_matches(fold(query).split()))

    def _code_prefix(self, prefix: str) -> Iterable[int]:
        start = bisect.bisect_left(self._codes, (prefix, -1))
        for code, rank in self._codes[start:]:
            if not code.startswith(prefix):
                break
            yield rank

    def _word_matches(self, tokens: list[str]) -> set[int]:
        """Entries with, for every token, a word that starts with it."""
        if not tokens:
            return set()
        sets = sorted((self._prefix_postings(token) for token in set(tokens)), key=len)
        result = set(sets[0])
        for other in sets[1:]:
            result &= other
            if not result:
                break
        return result

    def _prefix_postings(self, token: str) -> set[int]:
        start = bisect.bisect_left(self._words, token)
        ranks: set[int] = set()
        for word in self._words[start:]:
            if not word.startswith(token):
                break
            ranks |= self._postings[word]
        return ranks
