"""identity's ``restore-check``: which users of a backup Moodle would refuse, and why; and
which account a person holds on a platform (the teacher check of a request).

A restore-check changes nothing but identity's copy of the target's accounts, so an answer
that failed on identity's side (5xx, or no answer) is asked again, a bounded number of times,
before the migration is stopped: two checks at once can collide there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from fusion.errors import UpstreamError, UpstreamUnavailable
from services.migration_orchestrator.preflight.report import BackupUser

M = TypeVar("M", bound=BaseModel)


class IdentityFailed(UpstreamError):
    code = "identity_failed"


class IdentityUnreachable(UpstreamUnavailable):
    code = "identity_unreachable"


class CheckedUser(BaseModel):
    backup_user_id: int
    username: str
    outcome: Literal["maps_to_existing", "will_be_created", "conflict"]
    target_user_id: int | None = None
    case: str | None = None
    conflict_id: int | str | None = None
    reason: str | None = None
    reason_fr: str | None = None


class CheckCounts(BaseModel):
    maps: int
    creates: int
    conflicts: int


class RestoreCheck(BaseModel):
    platform: str
    clean: bool
    counts: CheckCounts
    users: list[CheckedUser]

    def conflicts(self) -> list[CheckedUser]:
        return [user for user in self.users if user.outcome == "conflict"]


class PersonAccount(BaseModel):
    moodle_id: int
    username: str
    link_method: str = ""
    link_status: str = ""


class PersonAccounts(BaseModel):
    uid: str
    platform: str
    accounts: list[PersonAccount]
    username_held_by_another_person: bool = False


class IdentityClient:
    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        token: str,
        attempts: int = 3,
        pause_seconds: float = 0.5,
    ) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}
        self._attempts = max(1, attempts)
        self._pause = pause_seconds

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """One call, asked again after a transport error or a 5xx (bounded, with a pause)."""
        for attempt in range(1, self._attempts + 1):
            last = attempt == self._attempts
            try:
                response = await self._http.post(path, json=body, headers=self._headers)
            except httpx.TransportError as error:
                if last:
                    raise IdentityUnreachable(
                        f"identity cannot be reached: {type(error).__name__}",
                        message_fr="Le service des identités ne répond pas ; nouvel essai plus "
                        "tard.",
                    ) from error
            else:
                if response.status_code < 500 or last:
                    return response
            await asyncio.sleep(self._pause * attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def accounts_of(self, uid: str, *, platform: str) -> PersonAccounts | None:
        """The accounts the person logged in as ``uid`` holds on ``platform`` (accepted links);
        None when identity does not know this person. Raises on any other failure."""
        try:
            response = await self._http.get(
                f"/identity/v1/persons/by-uid/{quote(uid, safe='')}/accounts",
                params={"platform": platform},
                headers=self._headers,
            )
        except httpx.TransportError as error:
            raise IdentityUnreachable(
                f"identity cannot be reached: {type(error).__name__}",
                message_fr="Le service des identités ne répond pas.",
            ) from error
        if response.status_code == 404 and _error_code(response) == "person_not_found":
            return None
        return _answer(response, PersonAccounts, "a person's accounts")

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
        response = await self._post("/identity/v1/restore-check", body)
        return _answer(response, RestoreCheck, "restore-check")


def _answer(response: httpx.Response, model: type[M], asked: str) -> M:
    """The body of a 200 as ``model``; any other answer is identity's failure."""
    if response.status_code != 200:
        raise IdentityFailed(
            f"identity answered {response.status_code} to {asked}",
            message_fr=f"Le service des identités a répondu {response.status_code}.",
        )
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        raise IdentityFailed(
            f"identity answered {asked} with an unexpected body",
            message_fr="Réponse inattendue du service des identités.",
        ) from error


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code")) if isinstance(error, dict) else None
