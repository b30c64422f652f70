"""Migrations in the distributed configuration, as an operator's `make stack` runs them: every
service its own process behind nginx, PostgreSQL, RabbitMQ, the simulator as the platforms
(ub1, ub2, ub4 on the 4.1 profile, the target on 4.5) and one worker process per platform.

Three platforms, four courses:
- ub2: a course one of whose students changed e-mail on ub2 while the merged platform holds the
  directory's one (Moodle's 2D conflict): the migration is blocked at the identity step, naming
  the student; an administrator loads the accounts and the directory into identity, computes a
  homogenisation plan for ub2, approves it (applied on the simulated ub2 through identity's API),
  and resumes the migration, which completes;
- ub1: a meta course migrated before the course it is linked to (the "wrong" order): the link is
  on the target once both are there;
- ub4: a plain course;
and at the end the sync has enrolled each course's Apogée students on the target.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.slow
CODE = "L2D003-1"  # a diploma stage of the synthetic Apogée (demo scale, seed fixed)
MIGRATIONS = "/migrations/v1/migrations"
SETTLED = ("done", "failed", "blocked", "cancelled")


def poll(read: Callable[[], Any], done: Callable[[Any], bool], *, tries: int = 240) -> Any:
    """``read()`` until ``done`` says so: bounded in count (0.25 s apart)."""
    value = read()
    for _ in range(tries):
        if done(value):
            return value
        time.sleep(0.25)
        value = read()
    raise AssertionError(f"still not there after {tries} polls: {value}")


def moodle(stack: Stack, platform: str, function: str, **params: object) -> Any:
    """A simulated platform's web services, through the stack's nginx."""
    form = {"wstoken": f"{platform}-token", "wsfunction": function, "moodlewsrestformat": "json"}
    response = httpx.post(
        f"{stack.url}/sim/{platform}/webservice/rest/server.php",
        data={**form, **params},
        timeout=30,
    )
    response.raise_for_status()
    answer = response.json()
    assert not (isinstance(answer, dict) and "exception" in answer), answer
    return answer


def students(stack: Stack, platform: str, course_id: int) -> list[dict[str, Any]]:
    users = moodle(stack, platform, "core_enrol_get_enrolled_users", courseid=course_id)
    return [u for u in users if "student" in {r["shortname"] for r in u["roles"]}]


def enrolled(stack: Stack, course_id: int) -> set[str]:
    """The target course's students, by student number (idnumber) or else username."""
    return {str(u.get("idnumber") or u["username"]) for u in students(stack, "target", course_id)}


def migrate(client: httpx.Client, platform: str, course_id: int, **extra: object) -> int:
    body = {
        "source_platform": platform,
        "source_course_id": course_id,
        "target_category_id": 1,
        "shortname": f"{platform.upper()}-{course_id}-E2E",
        **extra,
    }
    asked = client.post(MIGRATIONS, json=body)
    assert asked.status_code == 201, asked.text
    return int(asked.json()["id"])


def settled(client: httpx.Client, migration_id: int) -> dict[str, Any]:
    found: dict[str, Any] = poll(
        lambda: client.get(f"{MIGRATIONS}/{migration_id}").json(),
        lambda m: m["state"] in SETTLED,
    )
    return found


def identity_job(client: httpx.Client, answer: httpx.Response) -> None:
    assert answer.status_code == 202, answer.text
    job = poll(
        lambda: client.get(f"/identity/v1/imports/{answer.json()['id']}").json(),
        lambda j: j["state"] not in ("queued", "running"),
    )
    assert job["state"] == "done", job


def directory(people: list[dict[str, Any]]) -> bytes:
    """The reference directory of these people: uid, the canonical e-mail, names, and the
    student number (supannEtuId) or, for staff, the staff number (supannEmpId)."""
    lines = ["uid,mail,sn,givenName,supannEtuId,supannEmpId"]
    for p in people:
        staff = str(p["idnumber"]).startswith("P")
        mail = p["email"] if staff else f"{p['username']}@etu.univ-demo.fr"
        numbers = f",{p['idnumber']}" if staff else f"{p['idnumber']},"
        lines.append(f"{p['username']},{mail},{p['lastname']},{p['firstname']},{numbers}")
    return ("\n".join(lines) + "\n").encode()


def apogee_students(stack: Stack) -> set[str]:
    with stack.client("service") as client:
        response = client.get(f"/apogee/v1/codes/{CODE}/members")
    assert response.status_code == 200, response.text
    return {str(member["cod_etu"]) for member in response.json()["members"]}


def synced(client: httpx.Client, course_id: int) -> dict[str, Any]:
    """The course's sync run asked by the orchestrator's post-restore, once it ended."""

    def runs() -> list[dict[str, Any]]:
        found = client.get("/sync/v1/runs", params={"limit": 1000}).json()["data"]
        return [r for r in found if r["course_id"] == course_id]

    ended: list[dict[str, Any]] = poll(
        runs, lambda rs: any(r["status"] in ("completed", "failed") for r in rs)
    )
    return next(r for r in ended if r["status"] in ("completed", "failed"))


def test_three_platforms_a_conflict_resolved_by_a_plan_and_a_meta_link_in_the_wrong_order(
    stack: Stack,
) -> None:
    # ub2: a student of UB2-001 changed e-mail on ub2; the target holds the directory's one.
    conflicted_course = 2
    student = students(stack, "ub2", conflicted_course)[0]
    canonical = f"{student['username']}@etu.univ-demo.fr"
    drifted = f"{student['username']}.ancien@old-mail.fr"
    moodle(
        stack,
        "ub2",
        "core_user_update_users",
        **{"users[0][id]": student["id"], "users[0][email]": drifted},
    )
    moodle(
        stack,
        "target",
        "core_user_create_users",
        **{
            "users[0][username]": student["username"],
            "users[0][auth]": "cas",
            "users[0][firstname]": student["firstname"],
            "users[0][lastname]": student["lastname"],
            "users[0][email]": canonical,
            "users[0][idnumber]": student["idnumber"],
        },
    )
    # ub1: UB1-003 (course 4) becomes a meta course of UB1-002 (course 3).
    parent, child = 3, 4
    moodle(
        stack,
        "ub1",
        "enrol_meta_add_instances",
        **{"instances[0][metacourseid]": child, "instances[0][courseid]": parent},
    )

    with stack.client() as admin:
        # Identity holds the directory (these students, and UB4-001's teacher) and the
        # accounts of ub2 and ub4, as it would have been loaded before the migrations.
        people = students(stack, "ub2", conflicted_course)
        teacher = next(
            u
            for u in moodle(stack, "ub4", "core_enrol_get_enrolled_users", courseid=2)
            if "editingteacher" in {r["shortname"] for r in u["roles"]}
        )
        identity_job(
            admin,
            admin.post(
                "/identity/v1/file-imports",
                params={"source": "directory_csv"},
                content=directory([*people, teacher]),
                headers={"content-type": "text/csv"},
            ),
        )
        for platform in ("ub2", "ub4"):
            body = {"source": "moodle_ws", "platform": platform}
            identity_job(admin, admin.post("/identity/v1/imports", json=body))

        blocked_id = migrate(admin, "ub2", conflicted_course, apogee_codes=[CODE])
        child_id = migrate(admin, "ub1", child, waive_codes=True)  # the meta course first
        # UB4-001 is asked for by its teacher, through a Moodle plugin's token: identity maps
        # the login to the teacher's ub4 account. (nginx drops the acting-user header of
        # outside callers, so the plugin reaches the orchestrator's replica directly.)
        state = json.loads((stack.directory / "stack.json").read_text())
        port = state["processes"]["migration_orchestrator-1"]["port"]
        plugin_headers = {
            "Authorization": f"Bearer {stack.tokens['plugin']}",
            "X-Fusion-Acting-User": teacher["username"],
        }
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=plugin_headers, timeout=30
        ) as plugin:
            plain_id = migrate(plugin, "ub4", 2, apogee_codes=[CODE])

        blocked = settled(admin, blocked_id)
        assert (blocked["state"], blocked["step"]) == ("blocked", "identity"), blocked
        conflicts = blocked["blocker"]["conflicts"]
        assert [c["username"] for c in conflicts] == [student["username"]], conflicts
        assert conflicts[0]["case"] == "2D"
        assert student["username"] in blocked["reason_fr"]

        child_done = settled(admin, child_id)
        assert child_done["state"] == "done", child_done
        parent_id = migrate(admin, "ub1", parent, apogee_codes=[CODE])  # then its parent

        # The administrator computes a homogenisation plan for ub2 ...
        plan = admin.post("/identity/v1/plans", json={"platform": "ub2"})
        assert plan.status_code == 201, plan.text
        fix = [s for s in plan.json()["steps"] if s["moodle_id"] == student["id"]]
        assert [s["values"].get("email") for s in fix] == [[drifted, canonical]], fix
        before = moodle(
            stack,
            "ub2",
            "core_user_get_users_by_field",
            **{"field": "id", "values[0]": student["id"]},
        )
        assert before[0]["email"] == drifted
        # ... approves it: identity applies it on ub2 through its web services ...
        applied = admin.post(f"/identity/v1/plans/{plan.json()['id']}/apply")
        assert applied.status_code == 202, applied.text
        done_plan = poll(
            lambda: admin.get(f"/identity/v1/plans/{plan.json()['id']}").json(),
            lambda p: p["state"] in ("applied", "failed", "reverted"),
        )
        assert done_plan["state"] == "applied", done_plan
        after = moodle(
            stack,
            "ub2",
            "core_user_get_users_by_field",
            **{"field": "id", "values[0]": student["id"]},
        )
        assert after[0]["email"] == canonical
        # ... and resumes the migration: a new backup carries the homogenised account.
        resumed = admin.post(f"{MIGRATIONS}/{blocked_id}/resume")
        assert resumed.status_code == 200, resumed.text
        resolved = settled(admin, blocked_id)
        assert resolved["state"] == "done", resolved
        states = [t["to_state"] for t in resolved["history"]]
        assert states[states.index("blocked") :] == [
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

        parent_done = settled(admin, parent_id)
        plain = settled(admin, plain_id)
        for finished in (parent_done, plain):
            assert finished["state"] == "done", (finished["reason"], finished["logs"])
        assert (plain["requested_by"], plain["authorised_as"]) == (teacher["username"], "teacher")
        assert plain["evidence"]["matched_by"] == "identity", plain["evidence"]
        assert plain["evidence"]["moodle_user_id"] == teacher["id"]
        assert {
            resolved["source_platform"],
            parent_done["source_platform"],
            plain["source_platform"],
        } == {
            "ub1",
            "ub2",
            "ub4",
        }

        # The student maps to the target's account: no second account was made for them.
        restored = resolved["target_course_id"]
        same = moodle(
            stack,
            "target",
            "core_user_get_users_by_field",
            **{"field": "username", "values[0]": student["username"]},
        )
        assert len(same) == 1
        assert student["idnumber"] in enrolled(stack, restored)

        # The meta link, recorded when the child arrived, was made when its parent did.
        notes = [log["message"] for log in parent_done["logs"]]
        edge = f"{parent_done['target_course_id']} -> {child_done['target_course_id']}"
        assert f"meta link {edge} created" in notes, notes

        # The sync enrolled each course's Apogée students; the meta course gets its parent's.
        roster = apogee_students(stack)
        assert roster
        for migration in (resolved, parent_done, plain):
            run = synced(admin, migration["target_course_id"])
            assert run["status"] == "completed", run
            assert roster <= enrolled(stack, migration["target_course_id"]), migration["id"]
        assert roster <= enrolled(stack, child_done["target_course_id"])
