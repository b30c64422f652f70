"""Issue 15's sync guards: who may declare a course created empty, a teacher's run and the meta
children of other teachers, rate-limited previews, and a course Moodle does not have."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from services.enrolment_sync.methods import add_meta_link
from services.enrolment_sync.runs import create_run
from services.enrolment_sync.state import SyncState

from .conftest import World
from .fake_apogee import FakeCode
from .merged import ADMIN, PLUGIN, SERVICE
from .test_runs import course_reports, method, start

ACTING = "X-Fusion-Acting-User"
STUDENTS = [f"2192{n:04d}" for n in range(6)]
EDITING_TEACHER, STUDENT = 3, 5
MISSING_COURSE = 987_654

Api = tuple[httpx.AsyncClient, SyncState]


@pytest.fixture
async def api(world: World) -> AsyncIterator[Api]:
    async with world.running_api(course_sync_min_interval_seconds=60) as (client, state, _):
        yield client, state


async def _enrol(world: World, course: int, user: int, role: int) -> None:
    rows = [{"roleid": role, "userid": user, "courseid": course}]
    await world.moodle.call("enrol_manual_enrol_users", {"enrolments": rows})


async def _course_with_teacher(world: World, shortname: str, teacher: str) -> int:
    course = world.add_course(shortname)
    user = world.target.add_user(teacher, "Prof", teacher, f"{teacher}@example.edu")
    await _enrol(world, course, user.id, EDITING_TEACHER)
    return course


async def _active(world: World, course: int) -> set[int]:
    users = await world.moodle.get_enrolled_users(course, userfields=("id",), onlyactive=True)
    return {int(u["id"]) for u in users}


async def _wait_run(client: httpx.AsyncClient, state: SyncState, run_id: int) -> dict[str, object]:
    await state.runner.idle()
    answer = await client.get(f"/sync/v1/runs/{run_id}", headers=ADMIN)
    run: dict[str, object] = answer.json()
    assert run["status"] == "completed", run
    return run


def _bilingual_refusal(answer: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    error: dict[str, object] = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["message_fr"]
    assert error["message"] != error["message_fr"]
    return error


async def test_a_plugin_cannot_declare_created_empty_a_course_holding_hand_made_enrolments(
    world: World, api: Api
) -> None:
    client, state = api
    course = await _course_with_teacher(world, "HAND101", "prof1")
    users = {s: world.add_student(s) for s in STUDENTS}
    hand_made = users[STUDENTS[0]]
    await _enrol(world, course, hand_made, STUDENT)  # a teacher enrolled this student by hand
    world.apogee.codes["ELPH"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    body = {"course_id": course, "code": "ELPH", "groups": False, "course_created_empty": True}
    teacher = {**PLUGIN, ACTING: "prof1"}

    refused = await client.post("/sync/v1/methods", json=body, headers=teacher)
    error = _bilingual_refusal(refused, 403, "course_not_created_empty")
    assert "créé vide" in str(error["message_fr"])
    assert STUDENTS[0] not in refused.text
    assert "Nom" not in refused.text
    listed = await client.get("/sync/v1/methods", headers=ADMIN)
    assert listed.json()["count"] == 0  # nothing written

    created = await client.post(
        "/sync/v1/methods", json={**body, "course_created_empty": False}, headers=teacher
    )
    assert created.status_code == 201, created.text
    queued = await client.post(f"/sync/v1/courses/{course}:sync", json={}, headers=teacher)
    assert queued.status_code == 202, queued.text
    run = await _wait_run(client, state, queued.json()["run"]["id"])
    assert run["counts"]["existing_left_alone"] == 1  # type: ignore[index]
    assert await _active(world, course) >= set(users.values())

    # The student leaves Apogée: the sync removes what it made, never the hand-made enrolment.
    world.apogee.codes["ELPH"] = FakeCode(members=dict.fromkeys(STUDENTS[:1], ("N", "P")))
    full = await client.post("/sync/v1/runs", json={"kind": "full", "force": True}, headers=ADMIN)
    await _wait_run(client, state, full.json()["run"]["id"])
    active = await _active(world, course)
    assert hand_made in active
    assert not active & {users[s] for s in STUDENTS[1:]}  # the sync's own were removed


async def test_created_empty_is_accepted_from_a_plugin_only_when_moodle_shows_it_empty(
    world: World, api: Api
) -> None:
    client, _ = api
    empty = await _course_with_teacher(world, "NEW101", "prof1")
    world.apogee.codes["ELPN"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    body = {"course_id": empty, "code": "ELPN", "course_created_empty": True}
    accepted = await client.post("/sync/v1/methods", json=body, headers={**PLUGIN, ACTING: "prof1"})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["course_created_empty"] is True
    # The orchestrator's course-creation page (a service) owns the statement outright.
    other = await _course_with_teacher(world, "NEW102", "prof2")
    await _enrol(world, other, world.add_student(STUDENTS[0]), STUDENT)
    by_service = await client.post(
        "/sync/v1/methods", json={**body, "course_id": other}, headers=SERVICE
    )
    assert by_service.status_code == 201, by_service.text


async def test_a_teacher_s_sync_leaves_the_meta_child_of_another_teacher_alone(
    world: World, api: Api
) -> None:
    client, state = api
    parent = await _course_with_teacher(world, "PAR101", "prof1")
    child = await _course_with_teacher(world, "CHI101", "prof2")
    users = {s: world.add_student(s) for s in STUDENTS}
    world.apogee.codes["ELPP"] = FakeCode(members=dict.fromkeys(STUDENTS[:2], ("N", "P")))
    world.apogee.codes["ELPC"] = FakeCode(members=dict.fromkeys(STUDENTS[2:], ("N", "P")))
    await method(world, parent, "ELPP", groups=False)
    await method(world, child, "ELPC", groups=False)
    async with world.db.unit_of_work() as session:  # the service writes the parent's roster
        await add_meta_link(session, parent=parent, child=child, in_moodle=False, source="test")
    full = await client.post("/sync/v1/runs", json={"kind": "full"}, headers=ADMIN)
    await _wait_run(client, state, full.json()["run"]["id"])
    child_before = await _active(world, child)
    assert {users[s] for s in STUDENTS} <= child_before

    # Apogée changes both courses; prof1 syncs the parent only.
    world.apogee.codes["ELPP"] = FakeCode(members=dict.fromkeys(STUDENTS[:3], ("N", "P")))
    world.apogee.codes["ELPC"] = FakeCode(members=dict.fromkeys(STUDENTS[3:], ("N", "P")))
    newcomer = world.add_student("21929999")
    world.apogee.codes["ELPC"].members["21929999"] = ("N", "P")
    teacher = {**PLUGIN, ACTING: "prof1"}
    preview = await client.post(
        f"/sync/v1/courses/{parent}:sync", json={"dry_run": True}, headers=teacher
    )
    assert preview.status_code == 202, preview.text
    assert [c["course_id"] for c in preview.json()["courses"]] == [parent]
    queued = await client.post(f"/sync/v1/courses/{parent}:sync", json={}, headers=teacher)
    run = await _wait_run(client, state, queued.json()["run"]["id"])
    assert {"kind": "meta_children_of_other_teachers", "courses": [child]} in run["warnings"]  # type: ignore[operator]
    assert await _active(world, child) == child_before  # untouched
    assert users[STUDENTS[2]] in await _active(world, parent)

    # An operator's run of the same course reaches the child, and keeps what it holds.
    by_operator = await client.post(f"/sync/v1/courses/{parent}:sync", json={}, headers=SERVICE)
    assert by_operator.status_code == 429  # the course's interval holds for everyone
    async with world.units() as uow:  # the orchestrator's command: a course run, no scope
        command = await create_run(uow, kind="course", trigger="event", course_id=parent)
    assert (await world.execute(command.id or 0)).status == "completed"
    assert await _active(world, child) == child_before | {newcomer}


async def test_a_prof_teaching_both_courses_syncs_the_child_too(world: World, api: Api) -> None:
    client, state = api
    parent = world.add_course("PAR201")
    child = world.add_course("CHI201")
    prof = world.target.add_user("prof1", "Prof", "One", "prof1@example.edu")
    for course in (parent, child):
        await _enrol(world, course, prof.id, EDITING_TEACHER)
    users = {s: world.add_student(s) for s in STUDENTS[:2]}
    world.apogee.codes["ELPQ"] = FakeCode(members=dict.fromkeys(STUDENTS[:2], ("N", "P")))
    await method(world, parent, "ELPQ", groups=False)
    async with world.db.unit_of_work() as session:
        await add_meta_link(session, parent=parent, child=child, in_moodle=False, source="test")
    teacher = {**PLUGIN, ACTING: "prof1"}
    queued = await client.post(f"/sync/v1/courses/{parent}:sync", json={}, headers=teacher)
    run = await _wait_run(client, state, queued.json()["run"]["id"])
    assert run["warnings"] == []
    assert set(users.values()) <= await _active(world, child)


async def test_previews_are_rate_limited_like_real_runs(world: World, api: Api) -> None:
    client, _ = api
    course = await _course_with_teacher(world, "DRY101", "prof1")
    for s in STUDENTS:
        world.add_student(s)
    world.apogee.codes["ELPD"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    await method(world, course, "ELPD", groups=False)
    teacher = {**PLUGIN, ACTING: "prof1"}
    path = f"/sync/v1/courses/{course}:sync"
    first = await client.post(path, json={"dry_run": True}, headers=teacher)
    assert first.status_code == 202, first.text
    assert first.json()["run"]["status"] == "previewed"
    apogee_reads = len(world.apogee.bulk_requests)
    moodle_reads = dict(world.sim.counters("target"))
    refused = [await client.post(path, json={"dry_run": True}, headers=teacher) for _ in range(19)]
    for answer in refused:
        error = _bilingual_refusal(answer, 429, "course_sync_too_soon")
        assert "prévisualisé" in str(error["message_fr"])
        retry_after = int(answer.headers["Retry-After"])
        assert 1 <= retry_after <= 61
        assert error["details"] == {"retry_after_seconds": retry_after, "dry_run": True}
    assert len(world.apogee.bulk_requests) == apogee_reads  # Apogée was not read again
    assert dict(world.sim.counters("target")) == moodle_reads  # nor Moodle
    # A preview does not hold back the real run that follows it; the real one is limited too.
    real = await client.post(path, json={}, headers=teacher)
    assert real.status_code == 202, real.text
    again = await client.post(path, json={}, headers=teacher)
    error = _bilingual_refusal(again, 429, "course_sync_too_soon")
    assert "synchronisé" in str(error["message_fr"])
    assert "Retry-After" in again.headers


async def test_a_burst_of_simultaneous_previews_gets_one(world: World, api: Api) -> None:
    client, _ = api
    course = await _course_with_teacher(world, "DRY201", "prof1")
    world.apogee.codes["ELPE"] = FakeCode(members=dict.fromkeys(STUDENTS, ("N", "P")))
    await method(world, course, "ELPE", groups=False)
    teacher = {**PLUGIN, ACTING: "prof1"}
    path = f"/sync/v1/courses/{course}:sync"
    answers = await asyncio.gather(
        *(client.post(path, json={"dry_run": True}, headers=teacher) for _ in range(20))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [202] + [429] * 19, statuses
    assert len(world.apogee.bulk_requests) == 1  # one preview read Apogée


async def test_a_course_moodle_does_not_have_fails_alone(world: World) -> None:
    users = {s: world.add_student(s) for s in STUDENTS}
    good = [world.add_course("OK101"), world.add_course("OK102")]
    world.apogee.codes["ELPA"] = FakeCode(members=dict.fromkeys(STUDENTS[:3], ("N", "P")))
    world.apogee.codes["ELPB"] = FakeCode(members=dict.fromkeys(STUDENTS[3:], ("N", "P")))
    await method(world, good[0], "ELPA")
    await method(world, good[1], "ELPB")
    await method(world, MISSING_COURSE, "ELPA")  # a wrong id, or a course deleted since

    run = await start(world, "full")
    assert run.status == "completed", run.error
    assert run.counts["failed"] >= 1
    assert run.counts["courses_failed"] == 1
    reports = await course_reports(world, run)
    broken = reports[MISSING_COURSE]
    assert broken.status == "failed"
    assert "Can't find data record in database table course." in (broken.reason or "")
    assert "Moodle n'a pas de cours" in (broken.reason_fr or "")
    assert broken.errors[0]["kind"] == "course_missing"
    assert broken.errors[0]["errorcode"] == "invalidrecord"
    assert {users[s] for s in STUDENTS[:3]} <= world.target.enrolled_userids(good[0])
    assert {users[s] for s in STUDENTS[3:]} <= world.target.enrolled_userids(good[1])
    assert all(reports[c].status == "applied" for c in good)

    # New courses keep getting their students while the broken one stays reported.
    late = world.add_course("OK103")
    await method(world, late, "ELPB")
    second = await start(world, "full")
    assert second.status == "completed", second.error
    reports = await course_reports(world, second)
    assert reports[MISSING_COURSE].status == "failed"
    assert {users[s] for s in STUDENTS[3:]} <= world.target.enrolled_userids(late)
    # The writes never named the missing course.
    assert MISSING_COURSE not in world.target.courses
