"""A row's field count is what batching trusts to stay under max_input_vars: it must equal the
encoded count exactly (fewer would let PHP silently drop the fields past the limit)."""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import parse_qsl

import httpx
import pytest

from fusion.moodle.client import MoodleClient
from fusion.moodle.encoding import HEADER_FIELDS, count_fields, encode_params
from fusion.moodle.rows import (
    CourseUpdate,
    CustomField,
    GroupMember,
    ManualEnrolment,
    ManualUnenrolment,
    MetaLink,
    NewCourse,
    NewGroup,
    NewUser,
    UserCriterion,
    UserUpdate,
    _Row,
)

ROWS: list[_Row] = [
    ManualEnrolment(5, 10, 2),
    ManualEnrolment(5, 10, 2, timestart=1, timeend=2, suspend=False),
    ManualEnrolment(5, 10, 2, suspend=True),
    ManualUnenrolment(10, 2),
    ManualUnenrolment(10, 2, roleid=5),
    MetaLink(3, 2),
    MetaLink(3, 2, creategroup=True),
    NewGroup(2, "TD 1"),
    NewGroup(2, "TD 1", "", 1, "key", "TD1"),
    GroupMember(7, 10),
    NewUser("u1", "Léa", "Martin", "l@x.edu"),
    NewUser("u1", "Léa", "Martin", "l@x.edu", "cas", "pw", True, "21900001", "fr"),
    UserUpdate(10),
    UserUpdate(10, suspended=False, idnumber=""),
    UserCriterion("idnumber", "21900001"),
    NewCourse("Bio", "BIO", 1),
    NewCourse("Bio", "BIO", 1, customfields=()),
    NewCourse(
        "Bio",
        "BIO",
        1,
        idnumber="B",
        visible=False,
        customfields=(CustomField("a", "1"), CustomField("b", "")),
    ),
    CourseUpdate(4),
    CourseUpdate(4, fullname="x", customfields=(CustomField("a", "1"),)),
]


@pytest.mark.parametrize("row", ROWS, ids=repr)
def test_field_count_equals_the_encoded_count(row: _Row) -> None:
    encoded = len(encode_params({"rows": [row.as_param()]}))
    assert row.field_count() == encoded == count_fields({"rows": [row.as_param()]})


@pytest.mark.parametrize("row", ROWS, ids=repr)
def test_as_param_is_the_dict_without_none(row: _Row) -> None:
    expected = {key: value for key, value in asdict(row).items() if value is not None}
    assert row.as_param() == expected


async def test_no_request_passes_max_input_vars_with_mixed_optional_fields() -> None:
    sizes: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sizes.append(len(parse_qsl(request.content.decode(), keep_blank_values=True)))
        return httpx.Response(200, content=b"null")

    rows = [
        ManualEnrolment(5, user, 2, suspend=None if user % 3 else bool(user % 2))
        for user in range(500)
    ]
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = MoodleClient(
            base_url="http://m", token="t", http=http, max_input_vars=100, welcome_messages_off=True
        )
        result = await client.enrol_users(rows)
    assert len(result.applied) == 500
    assert max(sizes) <= 100
    total = sum(row.field_count() for row in rows)
    assert sum(sizes) == total + HEADER_FIELDS * len(sizes)
