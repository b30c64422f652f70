"""Entity tags of rosters: a stable hash of who is in a code, nothing else.

The tag covers the sorted COD_ETUs (and, when groups are asked for, each group's code and sorted
members), so a name change does not force a sync while one student leaving does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def roster_etag(
    cod_etus: Iterable[str], groups: Sequence[tuple[str, Iterable[str]]] | None = None
) -> str:
    digest = hashlib.blake2b(digest_size=16)
    # One update of "a\nb\n…" hashes the same bytes as one update per COD_ETU, much faster.
    ordered = sorted(cod_etus)
    if ordered:
        digest.update(("\n".join(ordered) + "\n").encode())
    if groups is not None:
        digest.update(b"groups\n")
        for code, members in sorted(groups, key=lambda group: group[0]):
            digest.update(f"{code}:{','.join(sorted(members))}\n".encode())
    return digest.hexdigest()


def header_value(etag: str) -> str:
    return f'"{etag}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: ``*``, a list, quoted or not, ``W/`` prefixes ignored."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        value = candidate.strip().removeprefix("W/").strip('"')
        if value in ("*", etag):
            return True
    return False
