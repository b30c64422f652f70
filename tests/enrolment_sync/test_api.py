"""The sync's HTTP API through the app's real lifespan: a course's preview, run and rate limit,
the runs an operator lists, and a write committed before its answer."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import httpx
from sqlalchemy import func, select

from fusion.asgi import HostedApp
from fusion.bus import MemoryBus
from fusion.contracts import (
    Envelope,
    SyncCompleted,
)
from services.enrolment_sync.app import create_app
from services.enrolment_sync.models import EnrolmentMethod, messaging

from .conftest import Api, World
from .fake_apogee import FakeCode
from .merged import ADMIN, PLUGIN, STUDENTS, TEACHER, api_settings


async def test_course_sync_preview_then_apply_then_rate_limit(
    world: World,
    api: Api,
) -> None:
    client, services, _ = api
    course = world.add_course("API101")
    users = [world.add_student(s) for s in STUDENTS]
    teacher = world.target.add_user("prof1", "Ada", "Prof", "prof1@example.edu")
    await world.moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": 3, "userid": teacher.id, "courseid": course}]},
    )
    stranger = await client.post(
        f"/sync/v1/courses/{course}:sync",
        json={"dry_run": True},
        headers={**PLUGIN, "X-Fusion-Acting-User": "someone"},
    )
    assert stranger.status_code == 403
    assert stranger.json()["error"]["code"] == "not_course_teacher"
    world.apogee.codes["ELP9"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    created = await client.post(
        "/sync/v1/methods",
        json={"course_id": course, "code": "ELP9", "groups": False, "course_created_empty": True},
        headers=TEACHER,  # the course-creation form, acting for the course's teacher
    )
    assert created.status_code == 201
    assert created.json()["course_created_empty"] is True  # the course-creation form's case
    preview = await client.post(
        f"/sync/v1/courses/{course}:sync", json={"dry_run": True}, headers=TEACHER
    )
    body = preview.json()
    assert body["run"]["status"] == "previewed"
    assert body["courses"][0]["adds"] == 5
    assert world.target.enrolled_userids(course) == {teacher.id}
    queued = await client.post(f"/sync/v1/courses/{course}:sync", json={}, headers=TEACHER)
    assert queued.status_code == 202
    await services.runner.idle()
    run_id = queued.json()["run"]["id"]
    run = (await client.get(f"/sync/v1/runs/{run_id}", headers=TEACHER)).json()
    assert run["status"] == "completed"
    assert world.target.enrolled_userids(course) == {*users, teacher.id}
    courses = (await client.get(f"/sync/v1/runs/{run_id}/courses", headers=TEACHER)).json()
    assert courses["data"][0]["adds"] == 5
    assert courses["data"][0]["status"] == "applied"  # not left "planned" once it landed
    again = await client.post(f"/sync/v1/courses/{course}:sync", json={}, headers=TEACHER)
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "course_sync_too_soon"
    listed = (await client.get("/sync/v1/runs", headers=ADMIN)).json()
    assert [r["id"] for r in listed["data"]][:1] == [run_id]
    resumed = await client.post(f"/sync/v1/runs/{run_id}:resume", headers=ADMIN)
    assert resumed.status_code == 409
    assert resumed.json()["error"]["code"] == "run_not_resumable"
    # sync.completed leaves through the outbox, in the run's final transaction.
    async with services.database.session() as session:
        query = select(messaging.outbox.c.envelope).where(
            messaging.outbox.c.type == SyncCompleted.type
        )
        # Without its filter the read follows the heap: a row the relay marked sent moves last.
        [event] = (await session.execute(query)).scalars().all()
    payload = Envelope.from_bytes(event.encode()).payload
    assert {"mode": "course", "outcome": "succeeded", "enrolled": 5}.items() <= payload.items()
    metrics = (await client.get("/sync/metrics")).text
    assert "fusion_enrolment_sync_rows_total" in metrics
    assert "fusion_enrolment_sync_lag_seconds" in metrics


async def test_runs_list_needs_an_operator_and_unknown_run_is_404(
    api: Api,
) -> None:
    client, _, _ = api
    assert (await client.get("/sync/v1/runs", headers=PLUGIN)).status_code == 403
    assert (await client.get("/sync/v1/runs")).status_code == 401
    missing = await client.get("/sync/v1/runs/999", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "run_not_found"
    self_link = await client.post(
        "/sync/v1/meta-links", headers=ADMIN, json={"parent_course_id": 3, "child_course_id": 3}
    )
    assert self_link.status_code == 400


async def test_a_created_method_is_committed_before_the_answer_is_sent(world: World) -> None:
    """Regression: the session's commit ran after the response, so a client told "201" could
    DELETE the id a moment later and get 404."""
    world.apogee.codes["ELP5"] = FakeCode(members={})
    committed_at_start: list[int] = []
    hosted = HostedApp(
        create_app(api_settings(world.settings.database_url), seams=world.seams(MemoryBus()))
    )

    async def watching(scope: Any, receive: Any, send: Any) -> None:
        async def watched_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and scope["method"] == "POST":
                async with world.db.session() as session:
                    found = await session.execute(select(func.count()).select_from(EnrolmentMethod))
                    committed_at_start.append(found.scalar_one())
            await send(message)

        await hosted(scope, receive, watched_send)

    async with hosted.running():
        transport = httpx.ASGITransport(app=watching)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            created = await client.post(
                "/sync/v1/methods", json={"course_id": 2, "code": "ELP5"}, headers=ADMIN
            )
            assert created.status_code == 201
            deleted = await client.delete(f"/sync/v1/methods/{created.json()['id']}", headers=ADMIN)
    assert committed_at_start == [1]
    assert deleted.status_code == 204
