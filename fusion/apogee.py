"""The kit's client of apogee_api for Fusion's services: rosters in bulk, code validation.

``members:bulk`` answers NDJSON, one line per requested code in request order; the client reads
it as a stream and checks that every requested code was answered, so that a cut stream is an
upstream error and never a code "without members" (which would look like students leaving).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from fusion.errors import UpstreamError, UpstreamUnavailable

MAX_CODES_PER_CALL = 10_000


@dataclass(frozen=True)
class ApogeeGroup:
    code: str
    label: str
    kind: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class CodeRoster:
    """One line of ``members:bulk``: members are student numbers (COD_ETU)."""

    code: str
    status: str  # ok | not_modified | unknown | closed
    etag: str | None = None
    members: tuple[str, ...] = ()
    groups: tuple[ApogeeGroup, ...] = ()
    # Student number → (last name, first name): only needed to create missing accounts.
    names: Mapping[str, tuple[str, str]] = field(default_factory=dict)


class ApogeeFailed(UpstreamError):
    code = "apogee_failed"


class ApogeeUnreachable(UpstreamUnavailable):
    code = "apogee_unreachable"


@dataclass(frozen=True)
class CodeCheck:
    code: str
    status: str  # valid | unknown | closed | not_offered
    kind: str | None
    label: str | None
    reason: str | None
    reason_fr: str | None


class ApogeeClient:
    def __init__(self, *, http: httpx.AsyncClient, token: str, chunk_size: int = 2000) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}
        self._chunk_size = max(1, min(chunk_size, MAX_CODES_PER_CALL))

    async def members_bulk(
        self,
        codes: Sequence[str],
        *,
        year: int | None,
        if_none_match: Mapping[str, str] | None = None,
        with_groups: bool = True,
    ) -> AsyncIterator[CodeRoster]:
        """The roster of every code, in order, one chunk of codes per request."""
        etags = if_none_match or {}
        for start in range(0, len(codes), self._chunk_size):
            chunk = list(codes[start : start + self._chunk_size])
            body = {
                "year": year,
                "codes": chunk,
                "if_none_match": {code: etags[code] for code in chunk if code in etags},
                "with_groups": with_groups,
            }
            async for roster in self._stream_chunk(chunk, body):
                yield roster

    async def _stream_chunk(
        self, chunk: list[str], body: dict[str, Any]
    ) -> AsyncIterator[CodeRoster]:
        answered = 0
        try:
            async with self._http.stream(
                "POST", "/apogee/v1/members:bulk", json=body, headers=self._headers
            ) as response:
                await _raise_for_status(response)
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    if answered >= len(chunk):
                        raise _failed("answered more codes than asked")
                    roster = parse_roster_line(line)
                    if roster.code != chunk[answered]:
                        raise _failed(f"answered {roster.code!r} where {chunk[answered]!r} was due")
                    answered += 1
                    yield roster
        except httpx.TransportError as error:
            raise ApogeeUnreachable(
                f"apogee_api cannot be reached: {type(error).__name__}",
                message_fr="apogee_api est injoignable.",
            ) from error
        if answered != len(chunk):
            raise _failed(f"the stream stopped after {answered} of {len(chunk)} codes")

    async def validate(self, codes: Sequence[str], *, year: int | None) -> list[CodeCheck]:
        try:
            response = await self._http.post(
                "/apogee/v1/codes:validate",
                json={"codes": list(codes), "year": year},
                headers=self._headers,
            )
        except httpx.TransportError as error:
            raise ApogeeUnreachable(
                "apogee_api cannot be reached.", message_fr="apogee_api est injoignable."
            ) from error
        await _raise_for_status(response)
        try:
            results = response.json()["results"]
            return [_code_check(item) for item in results]
        except (ValueError, KeyError, TypeError) as error:
            raise _failed("codes:validate answered an unexpected body") from error


def parse_roster_line(line: str) -> CodeRoster:
    try:
        item = json.loads(line)
        return CodeRoster(
            code=item["code"],
            status=item["status"],
            etag=item.get("etag"),
            members=tuple(member["cod_etu"] for member in item.get("members", ())),
            names={
                member["cod_etu"]: (member.get("last_name") or "", member.get("first_name") or "")
                for member in item.get("members", ())
            },
            groups=tuple(_group(group) for group in item.get("groups", ())),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise _failed("members:bulk answered a line that is not a roster") from error


def _group(item: Mapping[str, Any]) -> ApogeeGroup:
    return ApogeeGroup(
        code=str(item["code"]),
        label=str(item.get("label") or ""),
        kind=str(item.get("kind") or "group"),
        members=tuple(str(member) for member in item.get("members", ())),
    )


def _code_check(item: Mapping[str, Any]) -> CodeCheck:
    return CodeCheck(
        code=item["code"],
        status=item["status"],
        kind=item.get("kind"),
        label=item.get("label"),
        reason=item.get("reason"),
        reason_fr=item.get("reason_fr"),
    )


async def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    await response.aread()
    if response.status_code >= 500:
        raise ApogeeUnreachable(
            f"apogee_api answered HTTP {response.status_code}",
            message_fr=f"apogee_api a répondu HTTP {response.status_code}.",
        )
    raise _failed(f"apogee_api refused the request (HTTP {response.status_code})")


def _failed(message: str) -> ApogeeFailed:
    return ApogeeFailed(
        f"apogee_api: {message}", message_fr=f"Réponse inattendue d'apogee_api : {message}"
    )
