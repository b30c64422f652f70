"""A teacher's migration, end to end: request, backup on the source platform's queue, the
file streamed into the store, pre-flight, restore-check, restore, post-restore, done."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from fusion.bus import MemoryBus
from services.migration_orchestrator.migrations import analysis, requests

from .world import ADMIN, World, migration_world, one_slot, teacher

V1 = "/migrations/v1/migrations"


async def wait_for(client: httpx.AsyncClient, migration_id: int, *states: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(600):  # bounded: ~60 s at most
        body = (await client.get(f"{V1}/{migration_id}", headers=ADMIN)).json()
        if body["state"] in states:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"migration {migration_id} stayed {body.get('state')}: {body}")


def first_course(world: World, platform: str) -> tuple[int, str]:
    """A course of the demo platform and its teacher's username."""
    source = world.sim[platform]
    course = next(c for c in source.courses.values() if c.shortname.endswith("-001"))
    teacher_ids = [u for u, roles in course.roles.items() if any(r == 3 for r, _ in roles)]
    return course.id, source.users[teacher_ids[0]].username


def first_student(world: World, platform: str, course_id: int) -> Any:
    """The first student (role 5) of a course of the demo platform: the simulator's user."""
    source = world.sim[platform]
    students = [u for u, roles in source.courses[course_id].roles.items() if (5, 0) in roles]
    return source.users[students[0]]


def ub1_request(course_id: int) -> dict[str, Any]:
    """A migration request for a ub1 course into category 2 with the demo's Apogée code."""
    return {
        "source_platform": "ub1",
        "source_course_id": course_id,
        "target_category_id": 2,
        "apogee_codes": ["UEMATH1"],
    }


async def test_a_teacher_migrates_a_course_end_to_end(database_url: str, tmp_path: Path) -> None:
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        await world.start_workers("ub1")
        course_id, username = first_course(world, "ub1")
        body = {
            "source_platform": "ub1",
            "source_course_id": course_id,
            "target_category_id": 2,
            "fullname": "Algèbre (migré)",
            "shortname": "ALG-MIG",
            "apogee_codes": ["UEMATH1"],
        }
        created = await world.client.post(V1, json=body, headers=teacher(username))
        assert created.status_code == 201, created.text
        again = await world.client.post(V1, json=body, headers=teacher(username))
        assert again.status_code == 200
        assert again.json()["id"] == created.json()["id"]

        done = await wait_for(world.client, created.json()["id"], "done", "failed", "blocked")
        assert done["state"] == "done", done
        states = [t["to_state"] for t in done["history"]]
        assert states == [
            "requested",
            "backup_queued",
            "backing_up",
            "backed_up",
            "analysed",
            "identity_checked",
            "restoring",
            "post_restore",
            "done",
        ]
        assert done["authorised_as"] == "teacher"
        # the source course's own names, read from its platform when it was requested
        source = world.sim["ub1"].courses[course_id]
        assert (done["source_shortname"], done["source_fullname"]) == (
            source.shortname,
            source.fullname,
        )
        # every history entry and every log line has its French beside the English
        causes = [(t["cause"], t["cause_fr"]) for t in done["history"]]
        assert causes[0] == ("request", "demande")
        assert causes[1] == (f"requested by {username}", f"demandée par {username}")
        assert all(french and french != english for english, french in causes), causes
        lines = {log["message"]: log["message_fr"] for log in done["logs"]}
        stored = next(m for m in lines if m.startswith("backup stored ("))
        size = stored.removeprefix("backup stored (").removesuffix(" bytes)")
        assert lines[stored] == f"sauvegarde enregistrée ({size} octets)"
        assert lines["restore-check clean"] == "vérification des utilisateurs : aucun conflit"
        assert all(french and french != english for english, french in lines.items()), lines
        assert done["evidence"]["roles"] == ["editingteacher"]
        course = world.sim["target"].courses[done["target_course_id"]]
        assert (course.fullname, course.shortname, course.visible) == (
            "Algèbre (migré)",
            "ALG-MIG",
            True,
        )
        mine = await world.client.get(V1, headers=teacher(username))
        assert [m["id"] for m in mine.json()["items"]] == [done["id"]]
        other = await world.client.get(V1, headers=teacher("prof4"))
        assert other.json()["items"] == []
        metrics = (await world.client.get("/migrations/metrics")).text
        assert 'fusion_migration_orchestrator_state_seconds_count{state="backing_up"}' in metrics


async def test_a_teacher_who_loses_the_role_midway_still_gets_the_course(
    database_url: str, tmp_path: Path
) -> None:
    """Authorisation is decided once: later steps run under the service's own accounts."""
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        course_id, username = first_course(world, "ub1")
        body = ub1_request(course_id)
        created = await world.client.post(V1, json=body, headers=teacher(username))
        assert created.status_code == 201, created.text
        source = world.sim["ub1"]
        user_id = source.user_by_username[username]
        source.courses[course_id].roles.pop(user_id)  # the manager drops their own role
        again = await world.client.post(
            V1, json={**body, "source_course_id": course_id + 1}, headers=teacher(username)
        )
        assert again.status_code == 403  # a new request is checked anew...
        await world.start_workers("ub1")  # ...but the first one goes on
        done = await wait_for(world.client, created.json()["id"], "done", "failed", "blocked")
        assert done["state"] == "done", done
        target = world.sim["target"]
        teacher_id = target.user_by_username.get(username)
        assert teacher_id is not None
        assert teacher_id in target.courses[done["target_course_id"]].roles


async def test_a_user_conflict_blocks_then_resumes_once_resolved(
    database_url: str, tmp_path: Path
) -> None:
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        course_id, _ = first_course(world, "ub1")
        target = world.sim["target"]
        student = first_student(world, "ub1", course_id)
        clash = target.add_user(student.username, "Autre", "Personne", "autre@univ-demo.fr")
        await world.start_workers("ub1")
        body = ub1_request(course_id)
        created = await world.client.post(V1, json=body, headers=ADMIN)
        blocked = await wait_for(world.client, created.json()["id"], "blocked", "done", "failed")
        assert (blocked["state"], blocked["step"]) == ("blocked", "identity"), blocked
        assert blocked["blocker"]["conflicts"][0]["username"] == student.username
        assert student.username in blocked["reason_fr"]
        # the history keeps the reason in both languages, and says in French what caused it
        stop = blocked["history"][-1]
        assert (stop["to_state"], stop["cause_fr"]) == (
            "blocked",
            "vérification des utilisateurs sur la plateforme fusionnée",
        )
        assert (stop["reason"], stop["reason_fr"]) == (blocked["reason"], blocked["reason_fr"])
        assert stop["reason"] != stop["reason_fr"]
        clash.email = student.email  # an administrator homogenised the account (identity plan)
        resumed = await world.client.post(f"{V1}/{created.json()['id']}/resume", headers=ADMIN)
        assert resumed.status_code == 200, resumed.text
        done = await wait_for(world.client, created.json()["id"], "done", "failed", "blocked")
        assert done["state"] == "done", done
        assert [t["to_state"] for t in done["history"]][-6:] == [
            "blocked",
            "analysed",
            "identity_checked",
            "restoring",
            "post_restore",
            "done",
        ]


async def test_a_conflict_resolved_on_the_source_resumes_with_a_new_backup(
    database_url: str, tmp_path: Path
) -> None:
    """A plan applied on the source platform cannot change a backup taken before it: the first
    check after the resume still finds the conflict, so a new backup is taken, which passes."""
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        course_id, _ = first_course(world, "ub1")
        target = world.sim["target"]
        student = first_student(world, "ub1", course_id)
        canonical = f"{student.username}@annuaire.univ-demo.fr"
        target.add_user(student.username, student.firstname, student.lastname, canonical)
        await world.start_workers("ub1")
        body = ub1_request(course_id)
        created = await world.client.post(V1, json=body, headers=ADMIN)
        migration_id = created.json()["id"]
        blocked = await wait_for(world.client, migration_id, "blocked", "done", "failed")
        assert (blocked["state"], blocked["step"]) == ("blocked", "identity"), blocked
        student.email = canonical  # the identity plan homogenised the source account
        resumed = await world.client.post(f"{V1}/{migration_id}/resume", headers=ADMIN)
        assert resumed.status_code == 200, resumed.text
        done = await wait_for(world.client, migration_id, "done", "failed", "blocked")
        assert done["state"] == "done", done
        assert [t["to_state"] for t in done["history"]][-10:] == [
            "blocked",
            "analysed",
            "backup_queued",
            "backing_up",
            "backed_up",
            "analysed",
            "identity_checked",
            "restoring",
            "post_restore",
            "done",
        ]
        assert any("new backup" in log["message"] for log in done["logs"]), done["logs"]
        restored = target.courses[done["target_course_id"]]
        assert target.user_by_username[student.username] in restored.roles  # mapped, not new


async def test_a_conflict_that_remains_after_the_new_backup_blocks_again(
    database_url: str, tmp_path: Path
) -> None:
    """Resumed without anything resolved: one new backup, then blocked again (no loop)."""
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        course_id, _ = first_course(world, "ub1")
        target = world.sim["target"]
        student = first_student(world, "ub1", course_id)
        target.add_user(student.username, "Autre", "Personne", "autre@univ-demo.fr")
        await world.start_workers("ub1")
        body = ub1_request(course_id)
        created = await world.client.post(V1, json=body, headers=ADMIN)
        migration_id = created.json()["id"]
        await wait_for(world.client, migration_id, "blocked", "done", "failed")
        resumed = await world.client.post(f"{V1}/{migration_id}/resume", headers=ADMIN)
        assert resumed.status_code == 200, resumed.text
        again = await wait_for(world.client, migration_id, "blocked", "done", "failed")
        states = [t["to_state"] for t in again["history"]]
        assert again["state"] == "blocked", again
        assert (states.count("backed_up"), states.count("blocked")) == (2, 2), states
        assert again["blocker"]["conflicts"][0]["username"] == student.username


async def test_a_teachers_request_is_backed_up_before_a_bulk_batch(
    database_url: str, tmp_path: Path
) -> None:
    # One backup at a time on ub1: the order of the claims is the order of the starts.
    async with (
        MemoryBus() as bus,
        migration_world(database_url, tmp_path, bus=bus, platforms_for=one_slot) as world,
    ):
        source = world.sim["ub1"]
        courses = sorted(c.id for c in source.courses.values() if c.id > 1)
        csv = "source_platform,source_course_id,target_category_id,waive_codes\n" + "".join(
            f"ub1,{course},1,true\n" for course in courses[1:]
        )
        batch = await world.client.post(
            f"{V1}:batch", content=csv.encode(), headers={**ADMIN, "content-type": "text/csv"}
        )
        assert batch.json()["accepted"] == len(courses) - 1, batch.text
        course_id, username = first_course(world, "ub1")
        assert course_id == courses[0]
        body = ub1_request(course_id)
        mine = (await world.client.post(V1, json=body, headers=teacher(username))).json()
        await world.start_workers("ub1")
        ids = [mine["id"], *batch.json()["migration_ids"]]
        started = {}
        for migration_id in ids:
            done = await wait_for(world.client, migration_id, "done", "failed", "blocked")
            started[migration_id] = next(
                t["at"] for t in done["history"] if t["to_state"] == "backing_up"
            )
        assert min(started, key=lambda m: started[m]) == mine["id"]


async def test_a_run_stopped_during_its_identity_check_is_run_again_from_the_backup(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-flight's run goes on to the identity check itself (no step runs on its
    ``analysed`` event: ``test_driver``), and a clean check moves the migration through
    ``analysed`` and ``identity_checked`` to ``restoring`` at once. When the run stops during
    the check (here: it raises, as a process that dies would leave its message
    unacknowledged), nothing was stored: the message that started it comes again, and the
    pre-flight and the check run again on the same backup."""
    checks: list[int] = []
    real_check = analysis._restore_check

    async def stopping_once(orchestrator: Any, migration: Any, report: Any, **kw: Any) -> Any:
        checks.append(migration.id)
        if len(checks) == 1:
            raise RuntimeError("the process stops here")
        return await real_check(orchestrator, migration, report, **kw)

    monkeypatch.setattr(analysis, "_restore_check", stopping_once)
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        course_id, username = first_course(world, "ub1")
        created = await world.client.post(
            V1, json=ub1_request(course_id), headers=teacher(username)
        )
        assert created.status_code == 201, created.text
        await world.start_workers("ub1")
        done = await wait_for(world.client, created.json()["id"], "done", "failed", "blocked")
    assert done["state"] == "done", done
    states = [t["to_state"] for t in done["history"]]
    assert states.count("analysed") == 1
    assert states.count("identity_checked") == 1
    assert checks == [done["id"], done["id"]]


async def test_a_request_that_races_another_for_the_same_course_answers_the_first(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests for one course, the second not seeing the first when it looks (a race):
    its insert finds the course's active migration and inserts nothing (no error that would
    abort its transaction), and it answers the first one's migration, 200."""
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        course_id, username = first_course(world, "ub1")
        first = await world.client.post(V1, json=ub1_request(course_id), headers=teacher(username))
        assert first.status_code == 201, first.text
        looked: list[int] = []
        real_find = requests.find_active

        async def blind_once(session: Any, platform: str, course: int) -> Any:
            looked.append(course)
            return None if len(looked) == 1 else await real_find(session, platform, course)

        monkeypatch.setattr(requests, "find_active", blind_once)
        second = await world.client.post(V1, json=ub1_request(course_id), headers=teacher(username))
        assert second.status_code == 200, second.text
        assert second.json()["id"] == first.json()["id"]
        assert looked == [course_id, course_id]
        listed = await world.client.get(V1, params={"platform": "ub1"}, headers=ADMIN)
        assert [m["source_course_id"] for m in listed.json()["items"]].count(course_id) == 1
