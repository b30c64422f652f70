"""What the sync's API refuses, and how: a precise 4xx in French and English, nothing written."""

from __future__ import annotations

from .conftest import Api
from .merged import ADMIN


async def test_method_with_unknown_code_is_refused_in_french_and_english(
    api: Api,
) -> None:
    client, _, _ = api
    answer = await client.post(
        "/sync/v1/methods", json={"course_id": 2, "code": "NOPE"}, headers=ADMIN
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "apogee_code_rejected"
    assert "code Apogée" in error["message_fr"]
    assert (await client.get("/sync/v1/methods", headers=ADMIN)).json()["count"] == 0


async def test_out_of_range_ids_and_coerced_bodies_are_refused_not_crashed(
    api: Api,
) -> None:
    client, _, _ = api
    too_big = 2**63
    for url in (
        f"/sync/v1/runs?offset={too_big}",
        f"/sync/v1/methods?course_id={too_big}",
        f"/sync/v1/runs/{too_big}",
        f"/sync/v1/methods/{too_big}",
    ):
        answer = await client.get(url, headers=ADMIN)
        assert answer.status_code == 422, url
    answer = await client.post("/sync/v1/courses/2:sync", json={"force": 0}, headers=ADMIN)
    assert answer.status_code == 422
    answer = await client.post(
        "/sync/v1/meta-links",
        headers=ADMIN,
        json={"parent_course_id": 1, "child_course_id": too_big},
    )
    assert answer.status_code == 422
    assert (await client.get("/sync/v1/runs", headers=ADMIN)).json()["count"] == 0


async def test_a_wrong_method_names_every_allowed_one(
    api: Api,
) -> None:
    client, _, _ = api
    answer = await client.get("/sync/v1/runs/1:resume", headers=ADMIN)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    answer = await client.put("/sync/v1/methods", headers=ADMIN)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST"}
    assert answer.json()["error"]["message_fr"].startswith("Cette méthode")


async def test_a_status_filter_takes_only_a_known_status(
    api: Api,
) -> None:
    client, _, _ = api
    for hostile in ("\x00", "completed\x00", "'; DROP TABLE sync_run; --", "é" * 30):
        answer = await client.get("/sync/v1/runs", params={"status": hostile}, headers=ADMIN)
        assert answer.status_code == 422, hostile
        assert answer.json()["error"]["code"] == "validation_error"
    listed = await client.get("/sync/v1/runs", params={"status": "completed"}, headers=ADMIN)
    assert listed.status_code == 200
