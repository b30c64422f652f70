"""The orchestrator's one identity client, for the steps and the pages: a restore-check that
failed on identity's side is asked again, bounded; every failure is an upstream error in French
and English, with identity's status and words when it refused what was asked, never the token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fusion.errors import UpstreamError
from fusion.testing.clients import asgi_client
from services.migration_orchestrator.clients.identity import (
    IdentityClient,
    IdentityFailed,
    IdentityNotFound,
    IdentityUnreachable,
)
from tests.security.services import identity_service

CLEAN = {
    "platform": "target",
    "clean": True,
    "counts": {"maps": 0, "creates": 0, "conflicts": 0},
    "users": [],
}


def _client(answers: list[int | Exception], seen: list[int]) -> IdentityClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/identity/v1/restore-check"
        seen.append(1)
        step = answers.pop(0)
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step, json=CLEAN if step == 200 else {"error": {}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://identity")
    return IdentityClient(http=http, token="t", attempts=3, pause_seconds=0)


async def _check(client: IdentityClient) -> bool:
    answer = await client.restore_check(
        platform="target", source_platform="ub1", site_hash=None, users=[]
    )
    return answer.clean


async def test_a_5xx_then_an_answer_is_the_answer() -> None:
    seen: list[int] = []
    assert await _check(_client([500, httpx.ConnectError("refused"), 200], seen))
    assert len(seen) == 3


async def test_three_5xx_stop_with_identitys_status() -> None:
    seen: list[int] = []
    with pytest.raises(IdentityFailed, match="answered 503"):
        await _check(_client([500, 502, 503], seen))
    assert len(seen) == 3


async def test_a_4xx_is_not_asked_again() -> None:
    seen: list[int] = []
    with pytest.raises(IdentityFailed, match="answered 422"):
        await _check(_client([422, 200], seen))
    assert len(seen) == 1


async def test_no_answer_at_all_is_unreachable() -> None:
    seen: list[int] = []
    errors: list[int | Exception] = [httpx.ConnectError("refused") for _ in range(3)]
    with pytest.raises(IdentityUnreachable):
        await _check(_client(errors, seen))
    assert len(seen) == 3


async def test_a_refusal_keeps_identitys_status_and_words(tmp_path: Path) -> None:
    async with asgi_client(await identity_service(tmp_path)) as http:
        support = IdentityClient(http=http, token="demo-admin")
        assert (await support.conflicts(platform="ub1", kind="restore_conflict")).items == []
        with pytest.raises(IdentityNotFound) as missing:
            await support.plan(999)
        steps = IdentityClient(http=http, token="demo-service")  # not an administrator's
        with pytest.raises(IdentityFailed) as refused:
            await steps.plan(999)
    # a page answers 404 in identity's words; a migration step stops on it all the same
    assert missing.value.status_code == 404
    assert (missing.value.message, missing.value.message_fr) == ("No plan 999.", "Aucun plan 999.")
    assert isinstance(missing.value, UpstreamError)
    assert refused.value.status_code == 502  # our token refused: Fusion's fault, not the reader's
    assert refused.value.message.startswith("identity answered 403 to plan 999: ")
    assert refused.value.message_fr.startswith(
        "Le service des identités a répondu 403 pour le plan 999 : "
    )


async def test_no_answer_says_what_was_asked_in_both_languages_and_never_the_token() -> None:
    token = "s3cret-admin-token"
    asked: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        assert request.headers["authorization"] == f"Bearer {token}"
        raise httpx.ConnectError("refused", request=request)

    # the pages' HTTP client serves every upstream: the client prefixes identity's address
    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as http:
        client = IdentityClient(http=http, token=token, base_url="http://identity.internal/")
        with pytest.raises(IdentityUnreachable) as unreachable:
            await client.conflicts(platform="ub1")
    assert asked == ["http://identity.internal/identity/v1/conflicts?limit=50&platform=ub1"]
    error = unreachable.value
    assert error.status_code == 503
    assert "conflicts" in error.message
    assert "injoignable pour les conflits" in error.message_fr
    assert token not in f"{error.message} {error.message_fr} {error.details}"
