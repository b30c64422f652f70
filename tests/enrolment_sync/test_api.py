"""The HTTP API and the event consumer, through the app's real lifespan."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from fusion.asgi import HostedApp
from fusion.bus import MemoryBus
from fusion.contracts import (
    EnrolmentMethodRegistered,
    Envelope,
    RegisterEnrolmentMethods,
    RunSync,
    SyncCompleted,
)
from services.enrolment_sync.app import create_app
from services.enrolment_sync.models import EnrolmentMethod, messaging
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.state import SyncState

from .conftest import World
from .fake_apogee import FakeCode

ADMIN = {"Authorization": "Bearer demo-admin"}
PLUGIN = {"Authorization": "Bearer demo-plugin"}
TEACHER = {**PLUGIN, "X-Fusion-Acting-User": "prof1"}
STUDENTS = [f"2191{n:04d}" for n in range(5)]


def _api_settings(world: World) -> Settings:
    return Settings(
        environment="test",
        database_url=world.settings.database_url,
        database_create_tables=True,
        demo_tokens=True,
        schedule_enabled=False,
        moodle_url="http://sim/target",
        apogee_url="http://apogee",
    )


@pytest.fixture
async def api(world: World) -> AsyncIterator[tuple[httpx.AsyncClient, SyncState, MemoryBus]]:
    settings = _api_settings(world)
    bus = MemoryBus()
    app = create_app(settings, seams=world.seams(bus))
    async with bus, HostedApp(app).running() as hosted:
        transport = httpx.ASGITransport(app=hosted)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, hosted.state["runtime"].state, bus


async def test_method_with_unknown_code_is_refused_in_french_and_english(
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
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


async def test_course_sync_preview_then_apply_then_rate_limit(
    world: World,
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
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


async def test_teachers_see_only_the_runs_and_results_of_their_courses(
    world: World,
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
) -> None:
    client, services, _ = api
    prof1 = world.target.add_user("prof1", "Ada", "Prof", "prof1@example.edu")
    prof2 = world.target.add_user("prof2", "Bob", "Prof", "prof2@example.edu")
    courses = [world.add_course(f"SCOPE{n}") for n in range(5)]
    for n, course in enumerate(courses):
        world.apogee.codes[f"ELS{n}"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
        await client.post(
            "/sync/v1/methods", json={"course_id": course, "code": f"ELS{n}"}, headers=ADMIN
        )
    world.add_student(STUDENTS[0])
    # prof1 teaches courses 0 and 2, is a student in course 3; prof2 teaches course 1.
    roles = [(3, prof1.id, 0), (3, prof1.id, 2), (5, prof1.id, 3), (3, prof2.id, 1)]
    await world.moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": r, "userid": u, "courseid": courses[c]} for r, u, c in roles]},
    )
    full = await client.post("/sync/v1/runs", json={"kind": "full"}, headers=ADMIN)
    await services.runner.idle()
    full_id = full.json()["run"]["id"]

    async def results(run_id: int, headers: dict[str, str]) -> list[int]:
        answer = await client.get(f"/sync/v1/runs/{run_id}/courses", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["count"] == len(body["data"])
        return [row["course_id"] for row in body["data"]]

    assert await results(full_id, ADMIN) == courses
    assert await results(full_id, {"Authorization": "Bearer demo-service"}) == courses
    assert await results(full_id, TEACHER) == [courses[0], courses[2]]
    prof2_headers = {**PLUGIN, "X-Fusion-Acting-User": "prof2"}
    assert await results(full_id, prof2_headers) == [courses[1]]
    # A run of every course is not a teacher's to read, nor anything without an acting user.
    assert (await client.get(f"/sync/v1/runs/{full_id}", headers=TEACHER)).status_code == 403
    nobody = await client.get(f"/sync/v1/runs/{full_id}/courses", headers=PLUGIN)
    assert nobody.json()["error"]["code"] == "not_course_teacher"
    assert (await client.get(f"/sync/v1/runs/{full_id}", headers=ADMIN)).status_code == 200
    # The run of a course: its teacher reads it, another teacher does not.
    world.apogee.codes["ELS0"].members["21919999"] = ("N", "P")
    mine = await client.post(f"/sync/v1/courses/{courses[0]}:sync", json={}, headers=TEACHER)
    await services.runner.idle()
    mine_id = mine.json()["run"]["id"]
    assert (await client.get(f"/sync/v1/runs/{mine_id}", headers=TEACHER)).status_code == 200
    other = await client.get(f"/sync/v1/runs/{mine_id}", headers=prof2_headers)
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_course_teacher")
    assert await results(mine_id, prof2_headers) == []


async def test_runs_list_needs_an_operator_and_unknown_run_is_404(
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
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


async def test_register_command_creates_methods_once_announces_them_and_syncs(
    world: World,
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
) -> None:
    client, state, bus = api
    course = world.add_course("REG101")
    users = [world.add_student(s) for s in STUDENTS]
    world.apogee.codes["ELP42"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    command = RegisterEnrolmentMethods(
        migration_id=7, course_id=course, codes=["ELP42", "ELP42"], created_empty=True
    )
    envelope = Envelope.of(command)
    await bus.publish(envelope)
    await bus.publish(envelope)  # a duplicate delivery
    for _ in range(200):  # bounded: the in-process consumer runs on this loop
        runs = (await client.get("/sync/v1/runs", headers=ADMIN)).json()
        if runs["count"]:
            break
        await asyncio.sleep(0)
    await state.runner.idle()
    methods = (await client.get("/sync/v1/methods", headers=ADMIN)).json()
    assert [
        (m["course_id"], m["code"], m["year"], m["course_created_empty"], m["source"])
        for m in methods["data"]
    ] == [(course, "ELP42", None, True, "orchestrator")]
    runs = (await client.get("/sync/v1/runs", headers=ADMIN)).json()
    assert [(r["kind"], r["trigger"], r["status"]) for r in runs["data"]] == [
        ("course", "event", "completed")
    ]
    assert world.target.enrolled_userids(course) == set(users)
    async with state.database.session() as session:
        seen = (await session.execute(select(messaging.inbox.c.message_id))).scalars().all()
        staged = (await session.execute(select(messaging.outbox.c.envelope))).scalars().all()
    assert seen == [envelope.message_id]
    announced = [
        e.payload
        for e in map(Envelope.model_validate_json, staged)
        if e.type == EnrolmentMethodRegistered.type
    ]
    assert [(a["target_course_id"], a["apogee_code"], a["migration_id"]) for a in announced] == [
        (course, "ELP42", 7)
    ]


async def test_sync_run_command_is_executed_after_its_commit(
    world: World,
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
) -> None:
    client, services, bus = api
    course = world.add_course("CMD101")
    users = [world.add_student(s) for s in STUDENTS]
    world.apogee.codes["ELP8"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    await client.post("/sync/v1/methods", json={"course_id": course, "code": "ELP8"}, headers=ADMIN)
    command = RunSync(run_id=uuid.uuid4(), mode="course", course_id=course)
    await bus.publish(Envelope.of(command))
    await bus.publish(Envelope.of(command))  # the same run asked twice
    for _ in range(200):  # bounded: the in-process consumer runs on this loop
        runs = (await client.get("/sync/v1/runs", headers=ADMIN)).json()
        if runs["count"]:
            break
        await asyncio.sleep(0)
    await services.runner.idle()
    runs = (await client.get("/sync/v1/runs", headers=ADMIN)).json()
    assert [(r["kind"], r["trigger"], r["status"]) for r in runs["data"]] == [
        ("course", "event", "completed")
    ]
    assert world.target.enrolled_userids(course) == set(users)


async def test_out_of_range_ids_and_coerced_bodies_are_refused_not_crashed(
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
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
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
) -> None:
    client, _, _ = api
    answer = await client.get("/sync/v1/runs/1:resume", headers=ADMIN)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    answer = await client.put("/sync/v1/methods", headers=ADMIN)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST"}
    assert answer.json()["error"]["message_fr"].startswith("Cette méthode")


async def test_teachers_list_only_the_methods_of_their_courses(
    world: World,
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
) -> None:
    client, _, _ = api
    prof1 = world.target.add_user("prof1", "Ada", "Prof", "prof1@example.edu")
    prof2 = world.target.add_user("prof2", "Bob", "Prof", "prof2@example.edu")
    courses = [world.add_course(f"METH{n}") for n in range(4)]
    for n, course in enumerate(courses):
        world.apogee.codes[f"MTH{n}"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
        created = await client.post(
            "/sync/v1/methods", json={"course_id": course, "code": f"MTH{n}"}, headers=ADMIN
        )
        assert created.status_code == 201, created.text
    # prof1 teaches courses 0 and 2 and is a student in course 3; prof2 teaches course 1.
    roles = [(3, prof1.id, 0), (3, prof1.id, 2), (5, prof1.id, 3), (3, prof2.id, 1)]
    await world.moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": r, "userid": u, "courseid": courses[c]} for r, u, c in roles]},
    )

    async def listed(headers: dict[str, str], query: str = "") -> list[int]:
        answer = await client.get(f"/sync/v1/methods{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["count"] == len(body["data"])
        return [row["course_id"] for row in body["data"]]

    assert await listed(ADMIN) == courses
    assert await listed({"Authorization": "Bearer demo-service"}) == courses
    assert await listed(TEACHER) == [courses[0], courses[2]]
    assert await listed({**PLUGIN, "X-Fusion-Acting-User": "prof2"}) == [courses[1]]
    assert await listed({**PLUGIN, "X-Fusion-Acting-User": "nobody"}) == []
    # Filtering on a course the teacher does not teach gives nothing, not someone else's.
    assert await listed(TEACHER, f"?course_id={courses[1]}") == []
    assert await listed(TEACHER, f"?course_id={courses[2]}") == [courses[2]]
    assert await listed(TEACHER, "?limit=1&offset=1") == [courses[2]]
    # A plugin that names nobody sees nothing at all.
    anonymous = await client.get("/sync/v1/methods", headers=PLUGIN)
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (403, "not_course_teacher")


async def test_a_course_s_last_results_are_its_teachers_and_skip_previews(
    world: World,
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
) -> None:
    client, services, _ = api
    prof1 = world.target.add_user("prof1", "Ada", "Prof", "prof1@example.edu")
    world.target.add_user("prof2", "Bob", "Prof", "prof2@example.edu")
    course = world.add_course("LAST1")
    world.apogee.codes["ELL1"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    for cod_etu in STUDENTS:
        world.add_student(cod_etu)
    await client.post("/sync/v1/methods", json={"course_id": course, "code": "ELL1"}, headers=ADMIN)
    await world.moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": 3, "userid": prof1.id, "courseid": course}]},
    )
    path = f"/sync/v1/courses/{course}/results"
    assert (await client.get(path, headers=TEACHER)).json() == {"data": [], "count": 0}
    await client.post(f"/sync/v1/courses/{course}:sync", json={"dry_run": True}, headers=TEACHER)
    assert (await client.get(path, headers=TEACHER)).json()["count"] == 0  # a preview is not one
    applied = await client.post(f"/sync/v1/courses/{course}:sync", json={}, headers=TEACHER)
    assert services.runner is not None
    await services.runner.idle()
    last = (await client.get(path, headers=TEACHER)).json()["data"]
    assert [(row["run"]["id"], row["result"]["adds"]) for row in last] == [
        (applied.json()["run"]["id"], len(STUDENTS))
    ]
    other = await client.get(path, headers={**PLUGIN, "X-Fusion-Acting-User": "prof2"})
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_course_teacher")


async def test_a_created_method_is_committed_before_the_answer_is_sent(world: World) -> None:
    """Regression: the session's commit ran after the response, so a client told "201" could
    DELETE the id a moment later and get 404."""
    world.apogee.codes["ELP5"] = FakeCode(members={})
    committed_at_start: list[int] = []
    hosted = HostedApp(create_app(_api_settings(world), seams=world.seams(MemoryBus())))

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


async def test_a_status_filter_takes_only_a_known_status(
    api: tuple[httpx.AsyncClient, SyncState, MemoryBus],
) -> None:
    client, _, _ = api
    for hostile in ("\x00", "completed\x00", "'; DROP TABLE sync_run; --", "é" * 30):
        answer = await client.get("/sync/v1/runs", params={"status": hostile}, headers=ADMIN)
        assert answer.status_code == 422, hostile
        assert answer.json()["error"]["code"] == "validation_error"
    listed = await client.get("/sync/v1/runs", params={"status": "completed"}, headers=ADMIN)
    assert listed.status_code == 200
