"""The client's encoding, retries and protocol errors, on httpx.MockTransport."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest

from fusion.moodle import (
    ManualEnrolment,
    MoodleClient,
    MoodleProtocolError,
    MoodleUnavailable,
    NewCourse,
)
from fusion.moodle.encoding import encode_params


def test_nested_parameters_use_php_bracket_notation() -> None:
    params = {
        "users": [
            {
                "username": "a",
                "suspended": True,
                "customfields": [{"type": "apogee", "value": "ELP1"}],
            }
        ],
        "groupids": [1, 2],
        "skipped": None,
    }
    assert encode_params(params) == [
        ("users[0][username]", "a"),
        ("users[0][suspended]", "1"),
        ("users[0][customfields][0][type]", "apogee"),
        ("users[0][customfields][0][value]", "ELP1"),
        ("groupids[0]", "1"),
        ("groupids[1]", "2"),
    ]


def _client(handler: httpx.MockTransport) -> MoodleClient:
    http = httpx.AsyncClient(transport=handler)
    return MoodleClient(
        base_url="http://moodle.test/",
        token="t0k",
        http=http,
        retry_backoff_seconds=0.0,
        welcome_messages_off=True,
    )


async def test_the_token_function_and_format_come_first() -> None:
    seen: list[list[tuple[str, str]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qsl(request.content.decode(), keep_blank_values=True))
        return httpx.Response(200, content=b"null")

    await _client(httpx.MockTransport(answer)).enrol_users([ManualEnrolment(5, 3, 2)])
    assert seen[0][:3] == [
        ("wstoken", "t0k"),
        ("wsfunction", "enrol_manual_enrol_users"),
        ("moodlewsrestformat", "json"),
    ]
    assert seen[0][3:] == [
        ("enrolments[0][roleid]", "5"),
        ("enrolments[0][userid]", "3"),
        ("enrolments[0][courseid]", "2"),
    ]


async def test_transport_failures_are_retried_only_where_repeating_is_safe() -> None:
    attempts: dict[str, int] = {}

    def flaky(request: httpx.Request) -> httpx.Response:
        function = dict(parse_qsl(request.content.decode()))["wsfunction"]
        attempts[function] = attempts.get(function, 0) + 1
        if attempts[function] < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=b"null")

    client = _client(httpx.MockTransport(flaky))
    result = await client.enrol_users([ManualEnrolment(5, 3, 2)])
    assert (len(result.applied), attempts["enrol_manual_enrol_users"]) == (1, 3)
    with pytest.raises(MoodleUnavailable):
        await client.create_courses([NewCourse("X", "X", 1)])  # a retry could create twice
    assert attempts["core_course_create_courses"] == 1


async def test_an_xml_or_html_answer_is_a_protocol_error() -> None:
    xml = '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n</RESPONSE>\n'
    client = _client(httpx.MockTransport(lambda _: httpx.Response(200, text=xml)))
    with pytest.raises(MoodleProtocolError):
        await client.get_site_info()


async def test_a_server_error_means_unavailable() -> None:
    client = _client(httpx.MockTransport(lambda _: httpx.Response(503, text="down")))
    with pytest.raises(MoodleUnavailable):
        await client.get_site_info()
