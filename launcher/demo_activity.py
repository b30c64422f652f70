"""What a new user sees on ``make run``: course spaces on the merged platform and a sync run.

The simulated platforms live in memory and are seeded anew at each start, while the services'
SQLite files persist; so each start puts back what is missing (the simulator hands out the same
course ids again) and runs an incremental sync, as the schedule would.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from fusion.moodle.client import MoodleClient
from services.migration_orchestrator.pages.moodle_courses import create_empty_course

logger = logging.getLogger(__name__)
# (teacher, full name, short name, Apogée code of the demo Apogée)
DEMO_SPACES = (
    ("prof1", "UE1 Droit des obligations (L3)", "DEMO-DROIT-OBLIG", "AU000294"),
    ("prof2", "UE1 Cristallographie", "DEMO-CRISTALLO", "AU000002"),
)
SERVICE = {"authorization": "Bearer demo-service"}


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


async def play(base_url: str, *, moodle_token: str = "target-token") -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        await _wait_until_up(http)
        target = MoodleClient(
            base_url=f"{base_url}/sim/target",
            token=moodle_token,
            http=http,
            welcome_messages_off=True,  # as the simulated target is set up
        )
        for space in DEMO_SPACES:
            await _space(http, target, space)
        run = await http.post("/sync/v1/runs", json={}, headers=SERVICE)
        run.raise_for_status()


async def play_in_background(base_url: str) -> None:
    try:
        await play(base_url)
    except Exception:  # the demo's extras must never stop the server
        logger.exception("the demo activity could not be played")
