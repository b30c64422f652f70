"""The kit's upstream clients: explicit timeouts, the correlation id forwarded, no cookies kept."""

from __future__ import annotations

import httpx
import pytest

from fusion.http import create_http_client
from fusion.observability import correlation_id
from fusion.settings import HttpClientFragment


def _cookie_setting_upstream(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={},
            headers=[
                ("set-cookie", "MoodleSession=abc; Path=/"),
                ("set-cookie", "lb=node2; Path=/; HttpOnly"),
            ],
        )

    return httpx.MockTransport(answer)


async def test_a_cookie_an_answer_sets_is_not_sent_with_the_next_call() -> None:
    seen: list[httpx.Request] = []
    settings = HttpClientFragment(http_read_timeout_seconds=7, http_connect_timeout_seconds=2)
    async with create_http_client(
        settings, base_url="http://moodle.test", transport=_cookie_setting_upstream(seen)
    ) as client:
        first = await client.post("/webservice/rest/server.php", content=b"a=1")
        token = correlation_id.set("cid-42")
        try:
            await client.post("/webservice/rest/server.php", content=b"a=2")
        finally:
            correlation_id.reset(token)
        assert first.headers.get_list("set-cookie")  # the answer did set them
        assert len(client.cookies) == 0
        client.cookies.set("MoodleSession", "forced")  # dropped as well
        await client.get("/again")
    assert [r.headers.get("cookie") for r in seen] == [None, None, None]
    assert seen[1].headers["x-correlation-id"] == "cid-42"
    assert seen[0].extensions["timeout"] == {"connect": 2, "read": 7, "write": 7, "pool": 7}


async def test_cookies_cannot_be_given_to_an_upstream_client() -> None:
    async with create_http_client(HttpClientFragment()) as client:
        with pytest.raises(TypeError):
            client.cookies = {"MoodleSession": "abc"}
