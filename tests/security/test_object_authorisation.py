"""Object-level authorisation on the enrolment sync: a plugin acts for one teacher, on that
teacher's courses only, and decisions that can remove enrolments are the operators'."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fusion.testing.clients import DEMO_HEADERS

from .services import COURSE_A, COURSE_B, TEACHER_A, TEACHER_B, sync_client

ACTING = "X-Fusion-Acting-User"
PLUGIN = DEMO_HEADERS["plugin"]
AS_A = {**PLUGIN, ACTING: TEACHER_A}
AS_B = {**PLUGIN, ACTING: TEACHER_B}


@pytest.fixture
async def sync(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with sync_client(tmp_path) as client:
        yield client


def _method(course: int) -> dict[str, object]:
    return {"course_id": course, "code": "UE1BIO", "groups": False}


@pytest.mark.parametrize(
    ("headers", "status"), [(PLUGIN, 403), (AS_B, 403), (AS_A, 201)], ids=["bare", "other", "own"]
)
async def test_a_plugin_creates_methods_only_on_its_teachers_courses(
    sync: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    answer = await sync.post("/sync/v1/methods", json=_method(COURSE_A), headers=headers)
    assert answer.status_code == status, answer.text[:300]
    listed = await sync.get("/sync/v1/methods", headers=DEMO_HEADERS["admin"])
    assert listed.json()["count"] == (1 if status == 201 else 0)  # nothing written when refused


async def test_a_plugin_reads_a_method_only_for_a_teacher_of_its_course(
    sync: httpx.AsyncClient,
) -> None:
    created = await sync.post("/sync/v1/methods", json=_method(COURSE_A), headers=AS_A)
    method = f"/sync/v1/methods/{created.json()['id']}"
    assert (await sync.get(method, headers=AS_A)).status_code == 200
    for headers in (AS_B, PLUGIN):
        refused = await sync.get(method, headers=headers)
        assert refused.status_code == 403
        assert "UE1BIO" not in refused.text
    listed = await sync.get("/sync/v1/methods", headers=AS_B)
    assert listed.json()["count"] == 0


async def test_a_teacher_cannot_force_past_the_empty_source_guard(
    sync: httpx.AsyncClient,
) -> None:
    forced = await sync.post(
        f"/sync/v1/courses/{COURSE_A}:sync", json={"dry_run": True, "force": True}, headers=AS_A
    )
    assert forced.status_code == 403
    assert forced.json()["error"]["code"] == "operator_decision"
    operator = await sync.post(
        f"/sync/v1/courses/{COURSE_A}:sync",
        json={"dry_run": True, "force": True},
        headers=DEMO_HEADERS["service"],
    )
    assert operator.status_code in (200, 202), operator.text[:300]


async def test_a_teacher_cannot_sync_or_read_another_teachers_course(
    sync: httpx.AsyncClient,
) -> None:
    for path, body in ((f"/sync/v1/courses/{COURSE_B}:sync", {"dry_run": True}),):
        assert (await sync.post(path, json=body, headers=AS_A)).status_code == 403
    results = await sync.get(f"/sync/v1/courses/{COURSE_B}/results", headers=AS_A)
    assert results.status_code == 403
