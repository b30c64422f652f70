"""``make bench BENCH=sync-live``: Fusion's sync against a Moodle, beside a raw single stream.

Against the live Moodle of ``make test-live`` (``FUSION_LIVE_MOODLE_URL``/``_TOKEN``) or, when
none is configured (or ``FUSION_BENCH_TARGET=sim``), the simulator's 4.5 profile served over
loopback HTTP. It creates its own category, users and two identical sets of courses, all named
``fusion-bench-<tag>``; sends set A's enrolments and group memberships raw, in one stream, in
batches as large as ``max_input_vars`` allows (the floor); runs Fusion's full sync on set B,
then a second run with nothing changed; prints the ratios and deletes what it created.
Scale: ``FUSION_BENCH_SYNC_LIVE_COURSES`` (default 10), ``..._STUDENTS`` (300),
``..._PER_COURSE`` (60). Apogée is an in-process stand-in serving the same rosters.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx

from bench.report import write_report
from fusion.apogee import ApogeeClient
from fusion.db import Database
from fusion.moodle import GroupMember, ManualEnrolment, MoodleClient, NewCourse, NewGroup, NewUser
from fusion.moodle.batching import plan_batches
from fusion.unit_of_work import UnitOfWork, open_unit_of_work
from services.enrolment_sync.methods import add_method
from services.enrolment_sync.models import messaging, metadata
from services.enrolment_sync.runs import create_run, execute_run
from services.enrolment_sync.settings import Settings
from tests.enrolment_sync.fake_apogee import FakeApogee, FakeCode

STUDENT = 5


def _scale(name: str, default: int) -> int:
    return int(os.environ.get(f"FUSION_BENCH_SYNC_LIVE_{name}", default))


@asynccontextmanager
async def _moodle() -> AsyncIterator[tuple[str, MoodleClient]]:
    url, token = (
        os.environ.get("FUSION_LIVE_MOODLE_URL"),
        os.environ.get("FUSION_LIVE_MOODLE_TOKEN"),
    )
    if url and token and os.environ.get("FUSION_BENCH_TARGET") != "sim":
        off = os.environ.get("FUSION_LIVE_MOODLE_WELCOME_MESSAGES_OFF") == "1"
        async with httpx.AsyncClient(timeout=600) as http:
            yield (
                "live",
                MoodleClient(base_url=url, token=token, http=http, welcome_messages_off=off),
            )
        return
    from fusion.testing.serving import serving
    from sim.moodle.app import create_sim_app
    from sim.moodle.releases import MOODLE_45, WELCOME_OFF
    from sim.moodle.state import SimMoodle, all_functions

    sim = SimMoodle()
    site = sim.add_platform("bench", sitename="B", wwwroot="http://b.test", release=MOODLE_45)
    site.site.manual_welcome_default = WELCOME_OFF  # set up as the README says
    site.add_course("b", "B", 0, id=1, format="site")
    site.add_user("admin", "Admin", "User", "admin@b.test", id=2)
    site.add_token("bench", userid=2, functions=all_functions())
    async with serving(create_sim_app(sim)) as base, httpx.AsyncClient(timeout=600) as http:
        client = MoodleClient(
            base_url=f"{base}/bench", token="bench", http=http, welcome_messages_off=True
        )
        yield "simulator 4.5", client


class Fixture:
    """Everything the bench creates on the Moodle, so that it can delete exactly that."""

    def __init__(self, moodle: MoodleClient) -> None:
        self.moodle, self.tag = moodle, secrets.token_hex(4)
        self.category = 0
        self.courses: list[int] = []
        self.users: list[int] = []

    async def create(self, courses: int, students: int) -> tuple[list[int], list[int], list[str]]:
        prefix = f"fusion-bench-{self.tag}"
        made = await self.moodle.call(
            "core_course_create_categories", {"categories": [{"name": prefix}]}
        )
        self.category = int(made[0]["id"])
        rows = [
            NewCourse(f"{prefix}-{s}{n}", f"{prefix}-{s}{n}", self.category)
            for s in "AB"
            for n in range(courses)
        ]
        created = await self.moodle.create_courses(rows)
        self.courses = [int(c["id"]) for c in created.returned]
        cods = [f"9{n:07d}" for n in range(students)]
        users = [
            NewUser(
                f"{prefix}-{c}",
                "Bench",
                c,
                f"{prefix}-{c}@example.invalid",
                auth="nologin",
                idnumber=c,
            )
            for c in cods
        ]
        made_users = await self.moodle.create_users(users)
        self.users = [int(u["id"]) for u in made_users.returned]
        return self.courses[:courses], self.courses[courses:], cods

    async def delete(self) -> None:
        if self.courses:
            await self.moodle.call("core_course_delete_courses", {"courseids": self.courses})
        for chunk in plan_batches(self.users, fields_per_row=lambda _: 1, max_input_vars=1000):
            await self.moodle.call("core_user_delete_users", {"userids": chunk})
        if self.category:
            await self.moodle.call(
                "core_course_delete_categories",
                {"categories": [{"id": self.category, "recursive": 1}]},
            )


def _rosters(courses: int, cods: list[str], per_course: int) -> dict[str, FakeCode]:
    rng = random.Random(16)
    codes = {}
    for n in range(courses):
        members = sorted(rng.sample(cods, min(per_course, len(cods))))
        half = len(members) // 2
        codes[f"BENCH{n}"] = FakeCode(
            members={c: ("Bench", c) for c in members},
            groups={"TD1": ("TD 1", set(members[:half])), "TD2": ("TD 2", set(members[half:]))},
        )
    return codes


async def _raw_floor(
    moodle: MoodleClient, courses: list[int], codes: dict[str, FakeCode], ids: dict[str, int]
) -> float:
    """The same rows, sent raw in one stream: enrolments, then groups and their members."""
    started = time.perf_counter()
    rows = [
        ManualEnrolment(STUDENT, ids[c], course)
        for course, code in zip(courses, codes.values(), strict=True)
        for c in code.members
    ]
    for batch in plan_batches(
        rows, fields_per_row=lambda r: r.field_count(), max_input_vars=moodle.max_input_vars
    ):
        await moodle.call("enrol_manual_enrol_users", {"enrolments": [r.as_param() for r in batch]})
    members: list[GroupMember] = []
    for course, code in zip(courses, codes.values(), strict=True):
        made = await moodle.call(
            "core_group_create_groups",
            {
                "groups": [
                    NewGroup(course, label, idnumber=g).as_param()
                    for g, (label, _) in code.groups.items()
                ]
            },
        )
        by_code = {g["idnumber"]: g["id"] for g in made}
        members += [
            GroupMember(by_code[g], ids[c]) for g, (_, m) in code.groups.items() for c in sorted(m)
        ]
    for chunk in plan_batches(
        members, fields_per_row=lambda r: r.field_count(), max_input_vars=moodle.max_input_vars
    ):
        await moodle.call(
            "core_group_add_group_members", {"members": [r.as_param() for r in chunk]}
        )
    return time.perf_counter() - started


async def _fusion(moodle: MoodleClient, courses: list[int], apogee: FakeApogee) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="fusion-sync-live-")
    url = f"sqlite+aiosqlite:///{folder}/sync.db"
    db = Database(url)
    await db.create_all(metadata)
    settings = Settings(environment="development", database_url=url)
    async with httpx.AsyncClient(transport=apogee.transport(), base_url="http://apogee") as http:
        client = ApogeeClient(http=http, token="demo-service")
        async with db.unit_of_work() as session:
            for course, code in zip(courses, apogee.codes, strict=True):
                await add_method(
                    session,
                    course_id=course,
                    code=code,
                    year=None,
                    role="student",
                    groups=True,
                    source="bench",
                    course_created_empty=True,
                )

        def units() -> AbstractAsyncContextManager[UnitOfWork]:
            return open_unit_of_work(db, outbox=messaging.outbox)

        timings = {}
        for label in ("first_run", "no_change_run"):
            async with units() as uow:
                run = await create_run(uow, kind="full", trigger="bench")
            assert run.id is not None
            started = time.perf_counter()
            done = await execute_run(
                run.id, db=db, units=units, apogee=client, moodle=moodle, settings=settings
            )
            timings[label] = {
                "seconds": round(time.perf_counter() - started, 3),
                "status": done.status,
                "counts": done.counts,
            }
    await db.dispose()
    return timings


async def _bench() -> dict[str, Any]:
    courses, students, per_course = (
        _scale("COURSES", 10),
        _scale("STUDENTS", 300),
        _scale("PER_COURSE", 60),
    )
    async with _moodle() as (target, moodle):
        fixture = Fixture(moodle)
        try:
            floor_courses, fusion_courses, cods = await fixture.create(courses, students)
            ids = dict(zip(cods, fixture.users, strict=True))
            apogee = FakeApogee(codes=_rosters(courses, cods, per_course))
            floor = await _raw_floor(moodle, floor_courses, apogee.codes, ids)
            fusion = await _fusion(moodle, fusion_courses, apogee)
        finally:
            await fixture.delete()
    first = fusion["first_run"]["seconds"]
    return {
        "target": target,
        "scale": {
            "courses": courses,
            "students": students,
            "enrolments": courses * min(per_course, students),
        },
        "raw_single_stream_seconds": round(floor, 3),
        "fusion": fusion,
        "first_run_over_raw_floor": round(first / max(floor, 1e-9), 2),
    }


def main() -> int:
    figures = asyncio.run(_bench())
    fusion = figures["fusion"]
    print(f"target: {figures['target']}  scale: {figures['scale']}")
    print(f"raw single stream (floor): {figures['raw_single_stream_seconds']} s")
    for label, run in fusion.items():
        calls = run["counts"].get("moodle_calls")
        print(f"fusion {label}: {run['seconds']} s, {run['status']}, {calls} Moodle calls")
    print(f"first run / raw floor: ×{figures['first_run_over_raw_floor']}")
    print(f"written to {write_report('sync-live', figures)}")
    ok = all(run["status"] == "completed" for run in fusion.values())
    return 0 if ok else 1
