"""``members:bulk``: the rosters of many codes as NDJSON, one line per requested code, in order.

Where the time goes at university scale (5,300 codes, ≈445,000 member rows, ≈52,000 students)
decides the shape of this module:

- membership is read as narrow ``(key, COD_ETU)`` rows (``queries.fetch_memberships``), which is
  all an ETag needs, so a code whose ETag matches costs no name and no JSON;
- names are read once per student and per request, for the students of changed codes only, and
  each student's JSON object is encoded once and then joined into every line that lists them;
- lines are assembled from those pre-encoded pieces instead of dumping one big dict per code;
- the next chunks of codes are read from the database while the current one is encoded and sent;
- the catalogue is frozen out of the garbage collector's way (``store.py``), without which full
  collections triggered by the rows of a bulk read took half of its CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fusion.db import Database
from services.apogee_api.catalogue import Catalogue, CodeEntry
from services.apogee_api.etags import matches, roster_etag
from services.apogee_api.queries import Filters, Member, fetch_memberships, fetch_people

FLUSH_CHARS = 1 << 20  # hand the socket about 1 MB at a time rather than a whole chunk
READ_AHEAD = 2  # chunks read from the database while the current one is encoded


@dataclass(frozen=True)
class BulkRead:
    """One ``members:bulk`` request: what is asked, and what the caller already holds."""

    catalogue: Catalogue
    filters: Filters
    if_none_match: Mapping[str, str]
    with_groups: bool
    # COD_ETU -> the student's JSON object, filled as changed codes need them.
    people: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Chunk:
    codes: Sequence[str]
    known: dict[str, CodeEntry]  # requested code -> its entry, unknown codes left out
    groups: dict[str, list[CodeEntry]]  # entry code -> groups/séries valid that year
    memberships: dict[str, list[str]]  # entry or group code -> sorted COD_ETUs
    etags: dict[str, str]  # entry code -> ETag
    changed: set[str]  # entry codes whose ETag some requested spelling does not hold


async def bulk_lines(
    database: Database,
    catalogue: Catalogue,
    codes: Sequence[str],
    *,
    year: int,
    if_none_match: Mapping[str, str],
    with_groups: bool,
    payment_states: Sequence[str],
    chunk_size: int,
) -> AsyncGenerator[bytes, None]:
    """One NDJSON line per requested code, in request order, a few queries per chunk."""
    read = BulkRead(catalogue, Filters(year, tuple(payment_states)), if_none_match, with_groups)
    chunks = deque(codes[start : start + chunk_size] for start in range(0, len(codes), chunk_size))
    pending: deque[asyncio.Task[_Chunk]] = deque()
    try:
        while chunks or pending:
            while chunks and len(pending) < READ_AHEAD:
                pending.append(asyncio.create_task(_read_chunk(database, read, chunks.popleft())))
            chunk = await pending.popleft()
            await _read_people(database, read, chunk)
            for piece in _encode(read, chunk):
                yield piece
                await asyncio.sleep(0)  # let the next chunks' rows arrive meanwhile
    finally:
        for task in pending:  # the client went away mid-stream
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _read_chunk(database: Database, read: BulkRead, codes: Sequence[str]) -> _Chunk:
    catalogue, year = read.catalogue, read.filters.year
    known = {code: entry for code in codes if (entry := catalogue.get(code)) is not None}
    groups = (
        {
            entry.code: catalogue.groups(entry.code, year)
            for entry in known.values()
            if entry.kind in ("vet", "elp")
        }
        if read.with_groups
        else {}
    )
    wanted = {entry.code: entry for entry in known.values()}
    wanted.update({group.code: group for found in groups.values() for group in found})
    async with database.engine.connect() as connection:
        memberships = await fetch_memberships(connection, wanted.values(), read.filters)
    etags = {
        code: _etag(code, memberships, groups, with_groups=read.with_groups)
        for code in {entry.code for entry in known.values()}
    }
    changed = {
        entry.code
        for code, entry in known.items()
        if not matches(read.if_none_match.get(code), etags[entry.code])
    }
    return _Chunk(codes, known, groups, memberships, etags, changed)


async def _read_people(database: Database, read: BulkRead, chunk: _Chunk) -> None:
    """Names of the students listed by the chunk's changed codes, unless already encoded.

    Done in request order (not in the read-ahead tasks) so that no student is read twice."""
    missing = {c for code in chunk.changed for c in chunk.memberships[code] if c not in read.people}
    if not missing:
        return
    async with database.engine.connect() as connection:
        found = await fetch_people(connection, missing)
    read.people.update((cod_etu, _person(member)) for cod_etu, member in found.items())


def _etag(
    code: str,
    memberships: dict[str, list[str]],
    groups: dict[str, list[CodeEntry]],
    *,
    with_groups: bool,
) -> str:
    if not with_groups:
        return roster_etag(memberships[code])
    return roster_etag(
        memberships[code], [(group.code, memberships[group.code]) for group in groups.get(code, ())]
    )


def _encode(read: BulkRead, chunk: _Chunk) -> list[bytes]:
    pieces: list[bytes] = []
    lines: list[str] = []
    size = 0
    for code in chunk.codes:
        line = _line(read, chunk, code)
        lines.append(line)
        size += len(line)
        if size >= FLUSH_CHARS:
            pieces.append("".join(lines).encode())
            lines, size = [], 0
    if lines:
        pieces.append("".join(lines).encode())
    return pieces


def _line(read: BulkRead, chunk: _Chunk, code: str) -> str:
    entry = chunk.known.get(code)
    if entry is None:
        return _dumps({"code": code, "status": "unknown"}) + "\n"
    etag = chunk.etags[entry.code]
    # Only a closed or suspended ELP is "closed"; "not offered this year" still answers "ok".
    status = "closed" if entry.closed is not None else "ok"
    if matches(read.if_none_match.get(code), etag):
        status = "not_modified"
    head = _dumps({"code": code, "status": status, "kind": entry.kind, "etag": etag})
    if status == "not_modified":
        return head + "\n"
    # .get: a student whose INDIVIDU row went away between the two reads is left out, not fatal.
    people = read.people
    members = ",".join(
        [
            person
            for cod_etu in chunk.memberships[entry.code]
            if (person := people.get(cod_etu)) is not None
        ]
    )
    line = f'{head[:-1]},"members":[{members}]'
    if read.with_groups:
        groups = ",".join(
            [
                _dumps(
                    {
                        "code": group.code,
                        "label": group.label,
                        "kind": group.kind,
                        "members": chunk.memberships[group.code],
                    }
                )
                for group in chunk.groups.get(entry.code, ())
            ]
        )
        line += f',"groups":[{groups}]'
    return line + "}\n"


def _person(member: Member) -> str:
    return _dumps(
        {
            "cod_etu": member.cod_etu,
            "last_name": member.last_name,
            "first_name": member.first_name,
            "ine": member.ine,
        }
    )


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
