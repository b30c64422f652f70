"""What a new user sees on ``make run``: course spaces on the merged platform and a sync run.

The simulated platforms live in memory and are seeded anew at each start, while the services'
SQLite files persist; so each start puts back what is missing (the simulator hands out the same
course ids again) and runs an incremental sync, as the schedule would.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import httpx

from fusion.moodle.client import MoodleClient
from fusion.moodle.rows import JsonDict
from services.migration_orchestrator.pages.moodle_courses import create_empty_course
from sim.moodle.demo import DEMO_TOKENS

logger = logging.getLogger(__name__)
# (teacher, full name, short name, Apogée code of the demo Apogée)
DEMO_SPACES = (
    ("prof1", "UE1 Droit des obligations (L3)", "DEMO-DROIT-OBLIG", "AU000294"),
    ("prof2", "UE1 Cristallographie", "DEMO-CRISTALLO", "AU000002"),
)
SERVICE = {"authorization": "Bearer demo-service"}
ADMIN = {"authorization": "Bearer demo-admin"}


async def _wait_until_up(http: httpx.AsyncClient, *, seconds: float = 60.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            try:
                if (await http.get("/apogee/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)


async def _space(http: httpx.AsyncClient, target: MoodleClient, space: tuple[str, ...]) -> None:
    teacher, fullname, shortname, code = space
    found = await target.get_courses_by_field("shortname", shortname)
    if found:
        course_id = int(found[0]["id"])
    else:
        course_id = await create_empty_course(
            target, username=teacher, fullname=fullname, shortname=shortname, category=1
        )
    methods = await http.get("/sync/v1/methods", params={"course_id": course_id}, headers=SERVICE)
    if not methods.json()["data"]:
        body = {"course_id": course_id, "code": code, "course_created_empty": True}
        (await http.post("/sync/v1/methods", json=body, headers=SERVICE)).raise_for_status()


# The demo's staff in the directory: the teachers, and the fixture course CS01's user01, a member
# of staff whose account on the merged platform (found by the staff number in its idnumber,
# launcher/allinone.py) keeps an old e-mail and name. Restoring CS01 there meets Moodle's 2D
# conflict until a homogenisation plan for the merged platform gives that account the
# directory's values; the stored backup then goes through.
DEMO_STAFF = ("prof1", "prof2", "prof3", "prof4", "prof5", "user01")
USER01_STAFF_NUMBER = "P0100"


async def demo_staff(source: MoodleClient) -> list[JsonDict]:
    """The staff as the directory holds them: their accounts on ub1 (names, e-mail), with
    their staff number."""
    found = await source.get_users_by_field("username", DEMO_STAFF)
    return [
        {**user, "idnumber": user.get("idnumber") or USER01_STAFF_NUMBER}
        for user in found
        if user["username"] in DEMO_STAFF
    ]


def directory_csv(apogee_db: Path, staff: Sequence[JsonDict] = ()) -> bytes | None:
    """The reference directory of the demo: one entry per Apogée student, as the university's
    LDAP would hold them (uid, canonical e-mail, supannEtuId), and the staff (supannEmpId)."""
    if not apogee_db.exists():
        return None
    with sqlite3.connect(f"file:{apogee_db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT cod_etu, lib_pr1_ind, coalesce(lib_nom_usu_ind, lib_nom_pat_ind) "
            "FROM individu WHERE cod_etu IS NOT NULL ORDER BY cod_etu"
        ).fetchall()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["uid", "mail", "sn", "givenName", "supannEtuId", "supannEmpId"])
    for cod_etu, first, last in rows:
        # the names as the platforms' CAS accounts have them (launcher/allinone.py)
        sn, given = last.title(), first.title()
        writer.writerow([f"e{cod_etu}", f"e{cod_etu}@etu.univ-demo.fr", sn, given, cod_etu, ""])
    for user in staff:
        number = str(user["idnumber"])
        row = [user["username"], user["email"], user["lastname"], user["firstname"], "", number]
        writer.writerow(row)
    return out.getvalue().encode()


async def _identity(
    http: httpx.AsyncClient, apogee_db: Path, platforms: list[str], staff: list[JsonDict]
) -> None:
    """Accounts of every platform and the directory, so that conflicts and plans show."""
    directory = await asyncio.to_thread(directory_csv, apogee_db, staff)  # off the loop
    if directory is not None:
        answer = await http.post(
            "/identity/v1/file-imports",
            params={"source": "directory_csv"},
            content=directory,
            headers={**ADMIN, "content-type": "text/csv"},
        )
        answer.raise_for_status()
        await _finished(http, answer.json()["id"])
    for platform in platforms:  # one after the other: each links every account at its end
        body = {"source": "moodle_ws", "platform": platform}
        answer = await http.post("/identity/v1/imports", json=body, headers=ADMIN)
        answer.raise_for_status()
        await _finished(http, answer.json()["id"])


async def _finished(http: httpx.AsyncClient, import_id: int, *, seconds: float = 120.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            job = (await http.get(f"/identity/v1/imports/{import_id}", headers=ADMIN)).json()
            if job["state"] not in ("queued", "running"):
                return
            await asyncio.sleep(0.5)


# Migrations left in each lasting state: done (one with a flagged backup), blocked by identity
# conflicts, failed (no such category on the target yet), cancelled.
DEMO_MIGRATIONS = (
    ("ub4", 8, 1, "AU000294"),  # QUIZ311: Moodle 3.11 quizzes sharing a random question
    ("ub4", 9, 1, "AU000294"),
    ("ub1", 4, 1, "AU000002"),
    ("ub1", 8, 1, "AU000294"),  # CS01: the target's user01 keeps an old e-mail (plan: target)
    ("ub2", 3, 1, "AU000294"),  # students whose e-mail drifted on ub2
    ("ub4", 4, 99, "AU000294"),  # category 99 does not exist on the target
    ("ub2", 5, 1, "AU000294"),  # cancelled below
)


async def _migrations(http: httpx.AsyncClient) -> None:
    existing = await http.get("/migrations/v1/migrations", params={"limit": 1}, headers=ADMIN)
    if existing.json()["total"]:
        return
    ids = []
    for platform, course, category, code in DEMO_MIGRATIONS:
        body = {
            "source_platform": platform,
            "source_course_id": course,
            "target_category_id": category,
            "apogee_codes": [code],
        }
        answer = await http.post("/migrations/v1/migrations", json=body, headers=ADMIN)
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    await http.post(f"/migrations/v1/migrations/{ids[-1]}/cancel", headers=ADMIN)


async def play(
    base_url: str, *, data_dir: Path, platforms: list[str], moodle_token: str = "target-token"
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        await _wait_until_up(http)
        target = MoodleClient(
            base_url=f"{base_url}/sim/target",
            token=moodle_token,
            http=http,
            welcome_messages_off=True,  # as the simulated target is set up
        )
        ub1 = MoodleClient(base_url=f"{base_url}/sim/ub1", token=DEMO_TOKENS["ub1"], http=http)
        staff = await demo_staff(ub1)
        await _identity(http, data_dir / "apogee.db", platforms, staff)
        for space in DEMO_SPACES:
            await _space(http, target, space)
        run = await http.post("/sync/v1/runs", json={}, headers=SERVICE)
        run.raise_for_status()
        await _migrations(http)


async def play_in_background(base_url: str, *, data_dir: Path, platforms: list[str]) -> None:
    try:
        await play(base_url, data_dir=data_dir, platforms=platforms)
    except Exception:  # the demo's extras must never stop the server
        logger.exception("the demo activity could not be played")
