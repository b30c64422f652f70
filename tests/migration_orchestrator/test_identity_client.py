"""The orchestrator's identity client: a failure on identity's side is asked again, bounded."""

from __future__ import annotations

import httpx
import pytest

from services.migration_orchestrator.clients.identity import (
    IdentityClient,
    IdentityFailed,
    IdentityUnreachable,
)

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
