"""Bad input to the bulk and validate endpoints: a precise 4xx, as the OpenAPI document says."""

from __future__ import annotations

import httpx


async def test_a_code_longer_than_24_characters_is_a_validation_error(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post("/apogee/v1/members:bulk", json={"codes": ["X" * 25]})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"


async def test_body_values_are_not_coerced(api: httpx.AsyncClient) -> None:
    for body in ({"codes": ["UEMATH1"], "with_groups": 0}, {"codes": ["UEMATH1"], "year": "2026"}):
        answer = await api.post("/apogee/v1/members:bulk", json=body)
        assert answer.status_code == 422, body
    answer = await api.post("/apogee/v1/codes:validate", json={"codes": ["UEMATH1"], "x": 1})
    assert answer.status_code == 422


async def test_an_unreadable_body_is_refused_in_french_and_english(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post(
        "/apogee/v1/codes:validate",
        content=b'{"codes": ["\xff\xfe"]}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "malformed_body"
    assert "illisible" in error["message_fr"]
