"""What a teacher reads through the sync's API: the runs, results and methods of the courses
they teach, and nothing of the others."""

from __future__ import annotations

from .conftest import Api, World
from .fake_apogee import FakeCode
from .merged import ADMIN, PLUGIN, SERVICE, STUDENTS, TEACHER


async def test_teachers_see_only_the_runs_and_results_of_their_courses(
    world: World,
    api: Api,
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
    assert await results(full_id, SERVICE) == courses
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


async def test_teachers_list_only_the_methods_of_their_courses(
    world: World,
    api: Api,
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
    assert await listed(SERVICE) == courses
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
    api: Api,
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
