"""A migration restores into its own area on the target: what an interrupted attempt left there
is deleted before the next attempt, and a failed restore's placeholder course does not stay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from fusion.bus import MemoryBus
from services.migration_orchestrator.migrations.restore_area import area_idnumber
from services.migration_orchestrator.workers.link import NoLongerHeld
from services.migration_orchestrator.workers.restore import RestoreWorker
from services.migration_orchestrator.workers.runtime import (
    orchestrator_link,
    platform_named,
    start_backup_worker,
)
from sim.moodle.restore import restore_backup

from .test_migration_flow import V1, first_course, first_student, wait_for
from .world import ADMIN, World, migration_world

CATEGORY = 2


@asynccontextmanager
async def restoring_world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A world whose backup worker runs, and no restore worker: the test drives restores."""
    async with MemoryBus() as bus, migration_world(database_url, tmp_path, bus=bus) as world:
        yield world


async def restore_worker(world: World) -> RestoreWorker:
    settings = world.worker_settings()
    link = await world.stack.enter_async_context(
        orchestrator_link(settings, transport=httpx.ASGITransport(app=world.app))
    )
    platform = platform_named(settings, settings.target_platform)
    return RestoreWorker(platform=platform, link=link, work_dir=tmp_dir(world))


def tmp_dir(world: World) -> Path:
    return world.settings.store_dir.parent / "restores"


async def migration_waiting_for_its_restore(world: World, *, category: int = CATEGORY) -> int:
    settings = world.worker_settings()
    link = await world.stack.enter_async_context(
        orchestrator_link(settings, transport=httpx.ASGITransport(app=world.app))
    )
    await start_backup_worker(world.bus, settings, link, "ub1")
    course_id, _ = first_course(world, "ub1")
    body = {
        "source_platform": "ub1",
        "source_course_id": course_id,
        "target_category_id": category,
        "waive_codes": True,
    }
    created = await world.client.post(V1, json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    migration_id: int = created.json()["id"]
    await wait_for(world.client, migration_id, "restoring", "failed", "blocked")
    return migration_id


def courses_of(world: World, category: int) -> set[int]:
    return {c.id for c in world.sim["target"].courses.values() if c.category == category}


def areas(world: World, migration_id: int) -> list[int]:
    target = world.sim["target"]
    return [c.id for c in target.categories.values() if c.idnumber == area_idnumber(migration_id)]


async def messages(world: World, migration_id: int) -> list[str]:
    detail = (await world.client.get(f"{V1}/{migration_id}", headers=ADMIN)).json()
    return [log["message"] for log in detail["logs"]]


async def worker_call(world: World, path: str, body: dict[str, Any]) -> httpx.Response:
    service = {"Authorization": "Bearer demo-service"}
    return await world.client.post(f"/migrations/v1/worker{path}", json=body, headers=service)


async def test_a_retried_restore_deletes_what_the_interrupted_attempt_left(
    database_url: str, tmp_path: Path
) -> None:
    async with restoring_world(database_url, tmp_path) as world:
        migration_id = await migration_waiting_for_its_restore(world)
        before = courses_of(world, CATEGORY)
        # A worker starts, runs the restore CLI to the end, and dies before reporting.
        first = await worker_call(world, f"/restores/{migration_id}/start", {"worker": "dead"})
        assert first.status_code == 200, first.text
        ticket = first.json()
        assert ticket["category_id"] in areas(world, migration_id)
        assert ticket["category_id"] != CATEGORY
        backup = await world.client.get(
            f"/migrations/v1/worker/restores/{migration_id}/file",
            headers={"Authorization": "Bearer demo-service"},
        )
        orphan = restore_backup(
            world.sim["target"], backup.content, categoryid=ticket["category_id"]
        )
        assert orphan.courseid is not None

        # The redelivered message reaches a live worker: the real restore path.
        worker = await restore_worker(world)
        await worker._restore(migration_id)
        done = await wait_for(world.client, migration_id, "done", "failed", "blocked")
        assert done["state"] == "done", done
        assert orphan.courseid not in world.sim["target"].courses
        assert courses_of(world, CATEGORY) - before == {done["target_course_id"]}
        assert areas(world, migration_id) == []
        logs = await messages(world, migration_id)
        assert (
            f"deleted course {orphan.courseid}, left on the target by an interrupted restore"
            in (logs)
        )
        # The dead worker's late reports cannot undo the attempt that won.
        late = {"worker": "dead", "attempt": ticket["attempt"]}
        stale = await worker_call(
            world, f"/restores/{migration_id}/done", late | {"course_id": orphan.courseid}
        )
        assert stale.status_code == 409


async def test_a_stale_attempt_is_refused_while_the_next_one_runs(
    database_url: str, tmp_path: Path
) -> None:
    async with restoring_world(database_url, tmp_path) as world:
        migration_id = await migration_waiting_for_its_restore(world)
        path = f"/restores/{migration_id}"
        first = (await worker_call(world, f"{path}/start", {"worker": "a"})).json()
        second = (await worker_call(world, f"{path}/start", {"worker": "b"})).json()
        assert second["retried"] is True
        assert second["category_id"] == first["category_id"]
        failure = {"message": "x", "message_fr": "x", "worker": "a"}
        refused = await worker_call(
            world, f"{path}/failure", failure | {"attempt": first["attempt"]}
        )
        assert refused.status_code == 409, refused.text
        detail = (await world.client.get(f"{V1}/{migration_id}", headers=ADMIN)).json()
        assert detail["state"] == "restoring"
        assert areas(world, migration_id) == [second["category_id"]]


async def test_a_target_category_that_does_not_exist_is_named_in_words_the_teacher_can_act_on(
    database_url: str, tmp_path: Path
) -> None:
    async with restoring_world(database_url, tmp_path) as world:
        missing = max(world.sim["target"].categories) + 50
        migration_id = await migration_waiting_for_its_restore(world, category=missing)
        started = await worker_call(world, f"/restores/{migration_id}/start", {"worker": "w"})
        assert started.status_code == 409, started.text
        assert (
            f"La catégorie cible n° {missing} n'existe pas" in started.json()["error"]["message_fr"]
        )
        # the worker that met this answer logs why, not only that it lost the work
        assert NoLongerHeld(started.content).reason.startswith(
            f"The target category {missing} does not exist"
        )
        assert (
            NoLongerHeld(b"<html>proxy</html>").reason == "the orchestrator answered 409 Conflict"
        )
        failed = (await world.client.get(f"{V1}/{migration_id}", headers=ADMIN)).json()
        assert (failed["state"], failed["step"]) == ("failed", "restore")
        assert failed["reason"].startswith(
            f"The target category {missing} does not exist on the target platform."
        )
        assert failed["reason_fr"] == (
            f"La catégorie cible n° {missing} n'existe pas sur la plateforme cible. Un "
            "administrateur peut la créer, puis relancer la migration ; sinon, annulez la "
            "migration et redemandez-la vers une catégorie existante."
        )
        assert areas(world, migration_id) == []
        # Moodle's own words stay in the log, for the support.
        logs = (await world.client.get(f"{V1}/{migration_id}", headers=ADMIN)).json()["logs"]
        assert {
            "message": "Unknown category",
            "level": "error",
            "details": {
                "wsfunction": "core_course_create_categories",
                "errorcode": "unknowcategory",
            },
        }.items() <= logs[-1].items(), logs


async def test_a_failed_restore_leaves_no_placeholder_course_on_the_target(
    database_url: str, tmp_path: Path
) -> None:
    async with restoring_world(database_url, tmp_path) as world:
        migration_id = await migration_waiting_for_its_restore(world)
        target = world.sim["target"]
        before = set(target.courses)
        # Between restore-check and restore, an account of the target changed: Moodle's
        # precheck refuses (restore_not_executable_awaiting_required) after creating the course.
        course_id, _ = first_course(world, "ub1")
        student = first_student(world, "ub1", course_id)
        existing = target.user_by_username.get(student.username)
        if existing is None:
            target.add_user(student.username, "Autre", "Personne", "autre@univ-demo.fr")
        else:
            target.users[existing].email = "autre@univ-demo.fr"
        worker = await restore_worker(world)
        await worker._restore(migration_id)
        failed = await wait_for(world.client, migration_id, "failed", "done", "blocked")
        assert (failed["state"], failed["step"]) == ("failed", "restore"), failed
        assert set(target.courses) == before  # the placeholder is gone
        assert areas(world, migration_id) == []
        logs = await messages(world, migration_id)
        removed = [m for m in logs if "the placeholder the failed restore left behind" in m]
        assert len(removed) == 1, logs
        detail = (await world.client.get(f"{V1}/{migration_id}", headers=ADMIN)).json()
        outputs = [str(log["details"]) for log in detail["logs"] if log["level"] == "error"]
        assert any("restore_not_executable_awaiting_required" in out for out in outputs)
        # The account fixed, a retry restores again from a fresh area: one course.
        if existing is None:
            target.users[target.user_by_username[student.username]].email = student.email
        else:
            target.users[existing].email = student.email
        retried = await world.client.post(f"{V1}/{migration_id}/retry", headers=ADMIN)
        assert retried.status_code == 200, retried.text
        await worker._restore(migration_id)
        done = await wait_for(world.client, migration_id, "done", "failed", "blocked")
        assert done["state"] == "done", done
        assert set(target.courses) - before == {done["target_course_id"]}
        assert areas(world, migration_id) == []


async def test_a_report_lists_the_area_only_when_moodle_counts_another_course_in_it(
    database_url: str, tmp_path: Path
) -> None:
    """The usual report: the area holds the restored course alone (Moodle's ``coursecount``
    of the category), and is deleted without being listed."""
    async with restoring_world(database_url, tmp_path) as world:
        target = world.sim["target"]
        lone = await migration_waiting_for_its_restore(world)
        listings = target.calls["core_course_get_courses_by_field"]
        worker = await restore_worker(world)
        await worker._restore(lone)
        done = await wait_for(world.client, lone, "done", "failed", "blocked")
        assert done["state"] == "done", done
        assert target.calls["core_course_get_courses_by_field"] == listings
        assert areas(world, lone) == []


async def test_a_course_a_second_restore_left_in_the_area_is_deleted_and_named(
    database_url: str, tmp_path: Path
) -> None:
    """An orphaned CLI restored into the area after the attempt's start: Moodle counts two
    courses there, the report lists them, deletes the other one and names it."""
    async with restoring_world(database_url, tmp_path) as world:
        migration_id = await migration_waiting_for_its_restore(world)
        path = f"/restores/{migration_id}"
        ticket = (await worker_call(world, f"{path}/start", {"worker": "live"})).json()
        backup = await world.client.get(
            f"/migrations/v1/worker{path}/file", headers={"Authorization": "Bearer demo-service"}
        )
        target = world.sim["target"]
        # The live attempt's restore, and a second one an orphaned CLI ran into the same area.
        restored = restore_backup(target, backup.content, categoryid=ticket["category_id"])
        orphan = restore_backup(target, backup.content, categoryid=ticket["category_id"])
        assert restored.courseid is not None
        assert orphan.courseid is not None
        report = {"worker": "live", "attempt": ticket["attempt"], "course_id": restored.courseid}
        answered = await worker_call(world, f"{path}/done", report)
        assert answered.status_code == 200, answered.text
        done = await wait_for(world.client, migration_id, "done", "failed", "blocked")
        assert done["target_course_id"] == restored.courseid
        assert orphan.courseid not in target.courses
        assert target.courses[restored.courseid].category == CATEGORY
        assert areas(world, migration_id) == []
        logs = await messages(world, migration_id)
        assert f"deleted course {orphan.courseid}, a second restore of this migration" in logs
