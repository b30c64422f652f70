"""The orchestrator's one client of identity, for the migration steps and for support's pages.

The steps ask for a backup's ``restore-check`` (which users Moodle would refuse, and why) and
for the accounts a person holds on a platform (the teacher check of a request); the pages list
conflicts and prepare, show and approve homogenisation plans. Each holds its own instance with
its own token: the steps a ``service`` token, the pages an administrator's.

A restore-check changes nothing but identity's copy of the target's accounts, so an answer
that failed on identity's side (5xx, or no answer) is asked again, a bounded number of times,
before the migration is stopped: two checks at once can collide there. Nothing else is asked
again: a person is waiting.

Every failure is an upstream error, in French and English, never with the token::

    UpstreamError (502)
     ├── IdentityFailed              identity failed (5xx), refused our token (401, 403), or
     │    │                          answered what we cannot read
     │    └── IdentityRefused (400)  identity refused what was asked, in its own words; so do
     │         ├── IdentityNotFound (404)   an unknown plan, say
     │         ├── IdentityConflict (409)   a plan that cannot be applied now
     │         └── IdentityBusy (429)
     └── IdentityUnreachable (503)   no answer: connection refused, timeout

so a migration step stops on any of them (``except UpstreamError``), and a page answers
identity's status with identity's words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from fusion.errors import UpstreamError, UpstreamUnavailable
from services.migration_orchestrator.clients.identity_answers import (
    Conflicts,
    PersonAccounts,
    Plan,
    RestoreCheck,
)
from services.migration_orchestrator.preflight.report import BackupUser

M = TypeVar("M", bound=BaseModel)
# What was asked, in English and in French, as an error names it.
Asked = tuple[str, str]


class IdentityFailed(UpstreamError):
    code = "identity_failed"


class IdentityRefused(IdentityFailed):
    status_code = 400
    code = "identity_refused"


class IdentityNotFound(IdentityRefused):
    status_code = 404
    code = "identity_not_found"


class IdentityConflict(IdentityRefused):
    status_code = 409
    code = "identity_conflict"


class IdentityBusy(IdentityRefused):
    status_code = 429
    code = "identity_busy"


class IdentityUnreachable(UpstreamUnavailable):
    code = "identity_unreachable"


_REFUSED: dict[int, type[IdentityRefused]] = {
    400: IdentityRefused,
    404: IdentityNotFound,
    409: IdentityConflict,
    422: IdentityRefused,
    429: IdentityBusy,
}
_RESTORE_CHECK: Asked = ("the restore-check", "la vérification des utilisateurs")


class IdentityClient:
    """``base_url`` prefixes every path when the HTTP client is shared with other upstreams (the
    pages'); a client opened for identity alone carries it instead (``resources.http_client``)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        token: str,
        base_url: str = "",
        attempts: int = 3,
        pause_seconds: float = 0.5,
    ) -> None:
        self._http = http
        self._api = base_url.rstrip("/") + "/identity/v1"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._attempts = max(1, attempts)
        self._pause = pause_seconds

    # --- the migration steps ----------------------------------------------------------------

    async def restore_check(
        self,
        *,
        platform: str,
        source_platform: str | None,
        site_hash: str | None,
        users: Sequence[BackupUser],
    ) -> RestoreCheck:
        body = {
            "platform": platform,
            "source_platform": source_platform,
            "original_site_identifier_hash": site_hash,
            "users": [user.model_dump(mode="json") for user in users],
        }
        response = await self._send(
            "POST", "/restore-check", asked=_RESTORE_CHECK, attempts=self._attempts, json=body
        )
        return _answer(response, RestoreCheck, _RESTORE_CHECK)

    async def accounts_of(self, uid: str, *, platform: str) -> PersonAccounts | None:
        """The accounts the person logged in as ``uid`` holds on ``platform`` (accepted links);
        None when identity does not know this person. Raises on any other failure."""
        asked = ("a person's accounts", "les comptes d'une personne")
        path = f"/persons/by-uid/{quote(uid, safe='')}/accounts"
        response = await self._send("GET", path, asked=asked, params={"platform": platform})
        if response.status_code == 404 and _error_code(response) == "person_not_found":
            return None
        return _answer(response, PersonAccounts, asked)

    # --- support's pages --------------------------------------------------------------------

    async def conflicts(
        self, *, platform: str | None = None, kind: str | None = None, limit: int = 50
    ) -> Conflicts:
        chosen = {"platform": platform, "kind": kind}
        params: dict[str, Any] = {"limit": limit, **{k: v for k, v in chosen.items() if v}}
        return await self._json(
            Conflicts, "GET", "/conflicts", ("the conflicts", "les conflits"), params=params
        )

    async def new_plan(self, platform: str) -> Plan:
        asked = ("a new plan", "un nouveau plan")
        return await self._json(Plan, "POST", "/plans", asked, json={"platform": platform})

    async def plan(self, plan_id: int) -> Plan:
        asked = (f"plan {plan_id}", f"le plan {plan_id}")
        return await self._json(Plan, "GET", f"/plans/{plan_id}", asked)

    async def apply(self, plan_id: int) -> Plan:
        asked = (f"the approval of plan {plan_id}", f"l'approbation du plan {plan_id}")
        return await self._json(Plan, "POST", f"/plans/{plan_id}/apply", asked)

    # --- one way to ask ---------------------------------------------------------------------

    async def _json(self, model: type[M], method: str, path: str, asked: Asked, **kwargs: Any) -> M:
        return _answer(await self._send(method, path, asked=asked, **kwargs), model, asked)

    async def _send(
        self, method: str, path: str, *, asked: Asked, attempts: int = 1, **kwargs: Any
    ) -> httpx.Response:
        """One call; with ``attempts`` > 1, asked again after no answer or a 5xx (bounded, with
        a growing pause). The last answer is returned whatever its status."""
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = await self._http.request(
                    method, self._api + path, headers=self._headers, **kwargs
                )
            except httpx.TransportError as error:
                if last:
                    raise _unreachable(error, asked) from error
            else:
                if response.status_code < 500 or last:
                    return response
            await asyncio.sleep(self._pause * attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _answer(response: httpx.Response, model: type[M], asked: Asked) -> M:
    """The body of a 2xx as ``model``; any other answer is an ``IdentityFailed``."""
    if not response.is_success:
        raise _failure(response, asked)
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        raise IdentityFailed(
            f"Fusion cannot read identity's answer for {asked[0]}.",
            message_fr=f"Fusion ne peut pas lire la réponse du service des identités pour "
            f"{asked[1]}.",
        ) from error


def _failure(response: httpx.Response, asked: Asked) -> IdentityFailed:
    status = response.status_code
    said = _words(response)
    refused = _REFUSED.get(status)
    if refused is not None and said is not None:
        return refused(said[0], message_fr=said[1])
    english = f"identity answered {status} to {asked[0]}"
    french = f"Le service des identités a répondu {status} pour {asked[1]}"
    if said is not None:
        return IdentityFailed(f"{english}: {said[0]}", message_fr=f"{french} : {said[1]}")
    return IdentityFailed(f"{english}.", message_fr=f"{french}.")


def _unreachable(error: httpx.TransportError, asked: Asked) -> IdentityUnreachable:
    kind = type(error).__name__
    if isinstance(error, httpx.TimeoutException):
        return IdentityUnreachable(
            f"identity did not answer in time for {asked[0]} ({kind}); try again later.",
            message_fr=f"Le service des identités n'a pas répondu à temps pour {asked[1]} "
            f"({kind}) ; réessayez plus tard.",
        )
    return IdentityUnreachable(
        f"identity cannot be reached for {asked[0]} ({kind}); try again later.",
        message_fr=f"Le service des identités est injoignable pour {asked[1]} ({kind}) ; "
        "réessayez plus tard.",
    )


def _error(response: httpx.Response) -> dict[str, Any] | None:
    """identity's error envelope, when it sent one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _error_code(response: httpx.Response) -> str | None:
    error = _error(response)
    return None if error is None or error.get("code") is None else str(error["code"])


def _words(response: httpx.Response) -> tuple[str, str] | None:
    """identity's own message, in English and French, when its envelope carries both."""
    error = _error(response) or {}
    message, message_fr = error.get("message"), error.get("message_fr")
    if isinstance(message, str) and message and isinstance(message_fr, str) and message_fr:
        return message, message_fr
    return None
