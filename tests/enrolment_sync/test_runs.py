"""Runs against the Moodle simulator: the "Done when 1" scenarios of issue 6."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from services.enrolment_sync.errors import RunBusy
from services.enrolment_sync.leases import claim
from services.enrolment_sync.methods import add_meta_link, add_method
from services.enrolment_sync.models import LedgerEnrolment, RunCourse, SyncRun
from services.enrolment_sync.runs import create_run
from sim.moodle.entities import UE_ACTIVE, UE_SUSPENDED

from .conftest import World
from .fake_apogee import FakeCode

STUDENTS = [f"2190{n:04d}" for n in range(12)]


async def start(world: World, kind: str = "incremental", *, forced: bool = False) -> SyncRun:
    async with world.units() as uow:
        run = await create_run(uow, kind=kind, trigger="test", forced=forced)
    assert run.id is not None
    return await world.execute(run.id)


async def method(world: World, course: int, code: str, *, groups: bool = True) -> None:
    async with world.db.unit_of_work() as session:
        await add_method(
            session,
            course_id=course,
            code=code,
            year=None,
            role="student",
            groups=groups,
            source="test",
        )


async def link(world: World, parent: int, child: int) -> list[list[int]]:
    async with world.db.unit_of_work() as session:
        _, cycles = await add_meta_link(
            session, parent=parent, child=child, in_moodle=True, source="test"
        )
    return cycles


def enrolment(world: World, course: int, user: int) -> int | None:
    """The status of the user's manual enrolment in the course, None when absent."""
    for instance in world.target.course_instances(course, "manual"):
        if user in instance.users:
            return instance.users[user].status
    return None


async def course_reports(world: World, run: SyncRun) -> dict[int, RunCourse]:
    async with world.db.session() as session:
        rows = await session.execute(select(RunCourse).where(col(RunCourse.run_id) == run.id))
        return {r.course_id: r for r in rows.scalars()}


async def seeded(world: World) -> tuple[int, dict[str, int]]:
    """One course fed by ELP1 (12 students, two TD groups), every student with an account."""
    users = {s: world.add_student(s) for s in STUDENTS}
    course = world.add_course("BIO101")
    world.apogee.codes["ELP1"] = FakeCode(
        members=dict.fromkeys(STUDENTS, ("Nom", "Prénom")),
        groups={"TD1": ("TD 1", set(STUDENTS[:6])), "TD2": ("TD 2", set(STUDENTS[6:]))},
    )
    await method(world, course, "ELP1")
    return course, users


async def test_first_run_enrols_every_student_and_builds_the_groups(world: World) -> None:
    course, users = await seeded(world)
    run = await start(world, "full")
    assert run.status == "completed", run.error
    assert all(enrolment(world, course, u) == UE_ACTIVE for u in users.values())
    groups = {g.idnumber: g for g in world.target.groups.values() if g.courseid == course}
    assert set(groups) == {"TD1", "TD2"}
    assert groups["TD1"].members == {users[s] for s in STUDENTS[:6]}
    assert (run.counts["adds"], run.counts["group_adds"]) == (12, 12)
    # One call per kind of write: 12 enrolments, 2 groups, 12 memberships.
    assert world.writes() == {
        "enrol_manual_enrol_users": 12,
        "core_group_create_groups": 2,
        "core_group_add_group_members": 12,
    }


async def test_second_run_without_change_writes_nothing(world: World) -> None:
    await seeded(world)
    await start(world, "full")
    world.sim.reset_counters()
    incremental = await start(world, "incremental")
    assert incremental.status == "completed"
    assert world.writes() == {}
    assert world.apogee.bulk_requests[-1]["if_none_match"]  # ETags were sent
    full = await start(world, "full")
    assert full.counts["courses_unchanged"] == 1
    assert world.writes() == {}


async def test_student_leaving_a_td_group_only_leaves_that_group(world: World) -> None:
    course, users = await seeded(world)
    await start(world, "full")
    world.apogee.codes["ELP1"].groups["TD1"][1].discard(STUDENTS[0])
    world.sim.reset_counters()
    run = await start(world)
    assert (run.counts["group_removals"], run.counts["removals"]) == (1, 0)
    assert world.writes() == {"core_group_delete_group_members": 1}
    assert enrolment(world, course, users[STUDENTS[0]]) == UE_ACTIVE


async def test_cancelled_ia_suspends_and_does_not_unenrol(world: World) -> None:
    course, users = await seeded(world)
    await start(world, "full")
    del world.apogee.codes["ELP1"].members[STUDENTS[11]]
    world.apogee.codes["ELP1"].groups["TD2"][1].discard(STUDENTS[11])
    run = await start(world)
    assert run.counts["removals"] == 1
    assert enrolment(world, course, users[STUDENTS[11]]) == UE_SUSPENDED
    # Coming back reactivates the same enrolment.
    world.apogee.codes["ELP1"].members[STUDENTS[11]] = ("Nom", "Prénom")
    again = await start(world)
    assert again.counts["reactivations"] == 1
    assert enrolment(world, course, users[STUDENTS[11]]) == UE_ACTIVE


async def test_enrolment_added_by_a_teacher_is_left_alone(world: World) -> None:
    course, _ = await seeded(world)
    guest = world.add_student("EXTERNAL1")
    await world.moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": 5, "userid": guest, "courseid": course}]},
    )
    await start(world, "full")
    world.apogee.codes["ELP1"].members.clear()
    run = await start(world, "full", forced=True)
    assert run.counts["removals"] == 12
    assert enrolment(world, course, guest) == UE_ACTIVE


async def test_meta_chain_reaches_the_third_course(world: World) -> None:
    course_a, users = await seeded(world)
    course_b, course_c = world.add_course("B"), world.add_course("C")
    # Moodle holds the two links itself, and they do not chain.
    await world.moodle.call(
        "enrol_meta_add_instances",
        {
            "instances": [
                {"metacourseid": course_b, "courseid": course_a},
                {"metacourseid": course_c, "courseid": course_b},
            ]
        },
    )
    await link(world, course_a, course_b)
    assert await link(world, course_b, course_c) == []
    world.sim.reset_counters()
    run = await start(world, "full")
    assert run.status == "completed"
    enrolled_c = world.target.enrolled_userids(course_c)
    assert set(users.values()) <= enrolled_c
    # Nothing written into B (Moodle copies A there), 12 written into C: 24 rows, not 36.
    assert world.writes()["enrol_manual_enrol_users"] == 24
    assert all(enrolment(world, course_b, u) is None for u in users.values())


async def test_meta_cycle_is_reported_and_the_run_ends(world: World) -> None:
    course_a, _ = await seeded(world)
    course_b = world.add_course("B")
    await link(world, course_a, course_b)
    assert await link(world, course_b, course_a) == [sorted([course_a, course_b])]
    run = await start(world, "full")
    assert run.status == "completed"
    assert run.warnings == [{"kind": "meta_cycle", "courses": sorted([course_a, course_b])}]


async def test_apogee_answering_nothing_trips_the_safeguard(world: World) -> None:
    course, users = await seeded(world)
    await start(world, "full")
    world.apogee.codes["ELP1"].members.clear()
    world.apogee.codes["ELP1"].groups.clear()
    world.sim.reset_counters()
    run = await start(world)
    reports = await course_reports(world, run)
    assert reports[course].status == "blocked"
    assert "12" in (reports[course].reason_fr or "")
    assert world.writes() == {}
    assert all(enrolment(world, course, u) == UE_ACTIVE for u in users.values())
    # The ETag was not remembered: the next run looks again, and still stops.
    again = await start(world)
    assert (await course_reports(world, again))[course].status == "blocked"


async def test_stopped_run_resumes_without_writing_twice(world: World) -> None:
    world.settings.moodle_max_input_vars = 3 + 3 * 4  # 4 enrolments per call
    world.settings.moodle_concurrency = 1
    course, users = await seeded(world)
    async with world.units() as uow:
        run = await create_run(uow, kind="full", trigger="test")
    assert run.id is not None
    batches_seen: list[int] = []
    stopped = await world.execute(
        run.id,
        should_stop=lambda: len(batches_seen) >= 2,
        progress=lambda done, _total: batches_seen.append(done),
    )
    assert stopped.status == "stopped"
    assert world.writes()["enrol_manual_enrol_users"] == 8
    resumed = await world.execute(run.id)
    assert resumed.status == "completed"
    assert world.writes()["enrol_manual_enrol_users"] == 12  # each student sent exactly once
    assert all(enrolment(world, course, u) == UE_ACTIVE for u in users.values())
    async with world.db.session() as session:
        rows = (await session.execute(select(LedgerEnrolment))).scalars().all()
    assert len(rows) == 12


async def test_ledger_check_puts_back_a_student_unenrolled_by_hand(world: World) -> None:
    course, users = await seeded(world)
    await start(world, "full")
    removed = users[STUDENTS[3]]
    await world.moodle.call(
        "enrol_manual_unenrol_users", {"enrolments": [{"userid": removed, "courseid": course}]}
    )
    plain = await start(world, "full")
    assert plain.counts["adds"] == 0  # the ledger still believes it is there
    async with world.units() as uow:
        run = await create_run(uow, kind="full", trigger="test", verify=True)
    assert run.id is not None
    checked = await world.execute(run.id)
    assert (checked.counts["adds"], checked.counts["group_adds"]) == (1, 1)
    assert enrolment(world, course, removed) == UE_ACTIVE
    assert any(removed in g.members for g in world.target.groups.values() if g.courseid == course)


async def test_students_without_account_are_reported_or_created_by_policy(world: World) -> None:
    course, _ = await seeded(world)
    world.apogee.codes["ELP1"].members["21999999"] = ("Martin", "Léa")
    reported = await start(world, "full")
    report = (await course_reports(world, reported))[course]
    assert report.missing_users == 1
    assert {"kind": "missing_user", "cod_etu": "21999999"} in report.errors
    world.settings.missing_users = "create"
    created = await start(world, "full")
    assert created.counts["adds"] == 1
    user = next(u for u in world.target.users.values() if u.idnumber == "21999999")
    assert (user.username, user.lastname, user.auth) == ("21999999", "Martin", "cas")
    assert enrolment(world, course, user.id) == UE_ACTIVE


@pytest.mark.parametrize("policy", ["unenrol", "keep"])
async def test_removal_policy_unenrol_or_keep(world: World, policy: str) -> None:
    world.settings.removal_policy = policy  # type: ignore[assignment]
    course, users = await seeded(world)
    await start(world, "full")
    del world.apogee.codes["ELP1"].members[STUDENTS[0]]
    run = await start(world)
    assert run.counts["removals"] == 1
    expected = None if policy == "unenrol" else UE_ACTIVE
    assert enrolment(world, course, users[STUDENTS[0]]) == expected
    async with world.db.session() as session:
        held = (await session.execute(select(LedgerEnrolment))).scalars().all()
    assert users[STUDENTS[0]] not in {row.user_id for row in held}  # forgotten either way


async def test_a_run_held_by_another_process_is_not_executed_twice(world: World) -> None:
    await seeded(world)
    async with world.units() as uow:
        run = await create_run(uow, kind="full", trigger="test")
    assert run.id is not None
    await claim(world.db, run.id, owner="other-replica", seconds=300)
    with pytest.raises(RunBusy):
        await world.execute(run.id)
    assert world.writes() == {}


async def test_each_schedule_slot_is_launched_once(world: World) -> None:
    async with world.units() as uow:
        await create_run(uow, kind="full", trigger="schedule", slot="2026-12-01T02:30")
    with pytest.raises(IntegrityError):
        async with world.units() as uow:
            await create_run(uow, kind="full", trigger="schedule", slot="2026-12-01T02:30")


def roster_reads(world: World) -> int:
    return world.sim.counters("target").get("core_enrol_get_enrolled_users", {"calls": 0})["calls"]


async def test_restored_course_keeps_the_enrolments_it_came_with(world: World) -> None:
    """A restore brought students along: the sync neither rewrites nor ever suspends them."""
    course, users = await seeded(world)  # the default settings: not known to be empty
    restored = [users[s] for s in STUDENTS[:4]]
    await world.moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": 5, "userid": u, "courseid": course} for u in restored]},
    )
    world.sim.reset_counters()
    first = await start(world, "full")
    assert (first.counts["adds"], first.counts["existing_left_alone"]) == (8, 4)
    assert roster_reads(world) == 1  # one id-only read, before the course's first write
    assert world.writes()["enrol_manual_enrol_users"] == 8  # no write for what is right
    async with world.db.session() as session:
        held = {r.user_id for r in (await session.execute(select(LedgerEnrolment))).scalars()}
    assert held == {users[s] for s in STUDENTS[4:]}
    # Two restored students and one of ours leave Apogée: only ours is suspended.
    for student in (STUDENTS[0], STUDENTS[1], STUDENTS[4]):
        del world.apogee.codes["ELP1"].members[student]
    world.sim.reset_counters()
    second = await start(world)
    assert (second.counts["adds"], second.counts["removals"]) == (0, 1)
    assert roster_reads(world) == 0  # the course is known now: no read, and no adoption
    assert enrolment(world, course, users[STUDENTS[4]]) == UE_SUSPENDED
    # Even emptying the code, forced past the safeguard, leaves the restored students alone.
    world.apogee.codes["ELP1"].members.clear()
    world.apogee.codes["ELP1"].groups.clear()
    emptied = await start(world, "full", forced=True)
    assert emptied.counts["removals"] == 7
    assert all(enrolment(world, course, u) == UE_ACTIVE for u in restored)


async def test_course_created_empty_is_not_read_before_its_first_sync(world: World) -> None:
    course, users = await seeded(world)
    async with world.db.unit_of_work() as session:
        await add_method(
            session,
            course_id=course,
            code="ELP1",
            year=None,
            role="student",
            groups=True,
            source="test",
            course_created_empty=True,
        )
    world.sim.reset_counters()
    run = await start(world, "full")
    assert run.counts["adds"] == 12
    assert roster_reads(world) == 0
    assert all(enrolment(world, course, u) == UE_ACTIVE for u in users.values())
    # A course fed only by the service's meta link (none in Moodle), with no method of its
    # own, is not known to be empty: it is read before its first write.
    child = world.add_course("CHILD")
    async with world.db.unit_of_work() as session:
        await add_meta_link(session, parent=course, child=child, in_moodle=False, source="test")
    world.sim.reset_counters()
    linked = await start(world, "full")
    assert linked.counts["adds"] == 12
    assert roster_reads(world) == 1


async def test_one_method_not_known_empty_is_enough_to_read_the_course(world: World) -> None:
    course, _ = await seeded(world)
    world.apogee.codes["ELP2"] = FakeCode(members=dict.fromkeys(STUDENTS[:2], ("Nom", "P")))
    async with world.db.unit_of_work() as session:
        await add_method(
            session,
            course_id=course,
            code="ELP2",
            year=None,
            role="student",
            groups=False,
            source="form",
            course_created_empty=True,
        )
    world.sim.reset_counters()
    await start(world, "full")
    assert roster_reads(world) == 1


async def test_a_code_apogee_does_not_know_is_explained(world: World) -> None:
    course = world.add_course("GHOST")
    await method(world, course, "GHOST1")
    run = await start(world, "full")
    report = (await course_reports(world, run))[course]
    assert report.errors == [{"kind": "unknown_code", "code": "GHOST1"}]
    assert report.reason_fr == "Apogée ne connaît pas GHOST1 : aucun étudiant n'en provient."


async def test_restored_student_unenrolled_by_hand_is_enrolled_after_the_ledger_check(
    world: World,
) -> None:
    course, users = await seeded(world)
    restored = users[STUDENTS[0]]
    await world.moodle.call(
        "enrol_manual_enrol_users",
        {"enrolments": [{"roleid": 5, "userid": restored, "courseid": course}]},
    )
    await start(world, "full")
    await world.moodle.call(
        "enrol_manual_unenrol_users", {"enrolments": [{"userid": restored, "courseid": course}]}
    )
    async with world.units() as uow:
        run = await create_run(uow, kind="full", trigger="test", verify=True)
    assert run.id is not None
    checked = await world.execute(run.id)
    assert checked.counts["adds"] == 1  # now the sync's own: Apogée still has the student
    assert enrolment(world, course, restored) == UE_ACTIVE
