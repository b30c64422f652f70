"""The kit's one client of apogee_api, for every service: rosters in bulk, code validation, search.

``members:bulk`` answers NDJSON, one line per requested code in request order; the client reads
it as a stream and checks that every requested code was answered, so that a cut stream is an
upstream error and never a code "without members" (which would look like students leaving).

Timeouts are the HTTP client's (``fusion.http``, from ``HttpClientFragment``). Failures map to
the kit's error tree::

    UpstreamError (502)
     ├── ApogeeFailed          an answer we cannot use: garbled body, cut stream, our token refused
     └── ApogeeUnreachable (503)  no answer: connection refused, timeout, apogee_api's own 5xx
    BadRequest (400)
     └── ApogeeRefused         apogee_api refused what we relayed (400/422): its message, fr + en
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings

from fusion.errors import BadRequest, UpstreamError, UpstreamUnavailable
from fusion.runtime import Resources
from fusion.settings import PRODUCTION_REQUIRED

__all__ = [
    "ApogeeClient",
    "ApogeeFailed",
    "ApogeeFragment",
    "ApogeeGroup",
    "ApogeeRefused",
    "ApogeeUnreachable",
    "CodeCheck",
    "CodeRoster",
    "SearchHit",
    "SearchResults",
    "open_apogee",
]

MAX_CODES_PER_CALL = 10_000
M = TypeVar("M", bound=BaseModel)


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


class ApogeeRefused(BadRequest):
    code = "apogee_refused"


class CodeCheck(BaseModel):
    """apogee_api's verdict on one code, with its reason in English and French."""

    model_config = ConfigDict(frozen=True)

    code: str
    status: str  # valid | unknown | closed | not_offered
    kind: str | None = None
    label: str | None = None
    reason: str | None = None
    reason_fr: str | None = None


class SearchHit(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    kind: str
    label: str | None = None
    component: str | None = None
    period: str | None = None


class SearchResults(BaseModel):
    results: list[SearchHit]


class ApogeeFragment(BaseSettings):
    """The settings of a service that calls apogee_api."""

    apogee_url: str = Field(
        default="http://127.0.0.1:8000",
        description="base URL of Fusion's Apogée API (calls go to `<url>/apogee/v1/...`)",
        json_schema_extra=PRODUCTION_REQUIRED,
    )
    apogee_token: SecretStr = Field(
        default=SecretStr("demo-service"),
        description="a `service` token for the Apogée API",
        json_schema_extra=PRODUCTION_REQUIRED,
    )


async def open_apogee(
    resources: Resources, settings: ApogeeFragment, *, chunk_size: int = 2000
) -> ApogeeClient:
    """The client, on the runtime's HTTP client for the upstream named ``apogee``."""
    http = await resources.http_client("apogee", base_url=settings.apogee_url)
    token = settings.apogee_token.get_secret_value()
    return ApogeeClient(http=http, token=token, chunk_size=chunk_size)


class ApogeeClient:
    """``base_url`` prefixes every path when the HTTP client is shared with other upstreams; a
    client opened for apogee_api alone carries it instead (``resources.http_client``)."""

    def __init__(
        self, *, http: httpx.AsyncClient, token: str, base_url: str = "", chunk_size: int = 2000
    ) -> None:
        self._http = http
        self._api = base_url.rstrip("/") + "/apogee/v1"
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
                "POST", f"{self._api}/members:bulk", json=body, headers=self._headers
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
            raise _unreachable(error) from error
        if answered != len(chunk):
            raise _failed(f"the stream stopped after {answered} of {len(chunk)} codes")

    async def validate(self, codes: Sequence[str], *, year: int | None = None) -> list[CodeCheck]:
        """The verdict on each code, in order; ``year`` None: the year open for enrolment."""
        body = {"codes": list(codes), "year": year}
        answer = await self._json("POST", "/codes:validate", _Validation, json=body)
        return answer.results

    async def search(self, query: str, *, limit: int = 8) -> SearchResults:
        """Codes matching ``query``, best first (the year open for enrolment)."""
        params = {"q": query, "limit": limit}
        return await self._json("GET", "/codes", SearchResults, params=params)

    async def _json(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        try:
            response = await self._http.request(
                method, self._api + path, headers=self._headers, **kwargs
            )
        except httpx.TransportError as error:
            raise _unreachable(error) from error
        await _raise_for_status(response)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            raise _failed(f"{path} answered an unexpected body") from error


class _Validation(BaseModel):
    results: list[CodeCheck]


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


async def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    await response.aread()
    if response.status_code >= 500:
        raise ApogeeUnreachable(
            f"apogee_api answered HTTP {response.status_code}",
            message_fr=f"apogee_api a répondu HTTP {response.status_code}.",
        )
    if response.status_code in (400, 422) and (said := _envelope(response)):
        raise ApogeeRefused(said[0], message_fr=said[1])
    raise _failed(f"apogee_api refused the request (HTTP {response.status_code})")


def _envelope(response: httpx.Response) -> tuple[str, str] | None:
    """apogee_api's own message, when it sent its error envelope."""
    try:
        error = response.json()["error"]
        return str(error["message"]), str(error["message_fr"])
    except (ValueError, KeyError, TypeError):
        return None


def _unreachable(error: httpx.TransportError) -> ApogeeUnreachable:
    if isinstance(error, httpx.TimeoutException):
        return ApogeeUnreachable(
            f"apogee_api did not answer in time ({type(error).__name__})",
            message_fr="apogee_api n'a pas répondu à temps ; réessayez plus tard.",
        )
    return ApogeeUnreachable(
        f"apogee_api cannot be reached: {type(error).__name__}",
        message_fr="apogee_api est injoignable ; réessayez plus tard.",
    )


def _failed(message: str) -> ApogeeFailed:
    return ApogeeFailed(
        f"apogee_api: {message}", message_fr=f"Réponse inattendue d'apogee_api : {message}"
    )
