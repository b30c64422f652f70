"""The commands the sync consumes from the bus (``RegisterEnrolmentMethods``, ``RunSync``),
through the app's real lifespan: each executed once, after its commit."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from fusion.contracts import (
    EnrolmentMethodRegistered,
    Envelope,
    RegisterEnrolmentMethods,
    RunSync,
)
from services.enrolment_sync.models import messaging

from .conftest import Api, World
from .fake_apogee import FakeCode
from .merged import ADMIN, STUDENTS


async def test_register_command_creates_methods_once_announces_them_and_syncs(
    world: World,
    api: Api,
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
    api: Api,
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
