"""The teacher check of a request maps the requester to their account on the source platform
through identity (the real service, in process), and falls back to the login as username, with
the fallback in the evidence, when identity cannot say."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from fusion.auth import Principal
from fusion.moodle.client import MoodleClient
from fusion.settings import MoodlePlatform
from fusion.testing.clients import DEMO_HEADERS, asgi_client
from services.identity.app import create_app as create_identity
from services.identity.settings import Settings as IdentitySettings
from services.migration_orchestrator.clients.identity import IdentityClient
from services.migration_orchestrator.migrations.authorisation import NotCourseTeacher, decide
from sim.moodle.app import create_sim_app
from sim.moodle.enrolments import enrol_user
from sim.moodle.entities import EDITINGTEACHER, STUDENT
from sim.moodle.state import SimMoodle, all_functions

ADMIN = DEMO_HEADERS["admin"]
# Hélène was given another username on ub1; "jmartin" there is another person's account.
DIRECTORY = (
    "uid,mail,sn,givenName,supannEmpId\n"
    "hloeuillet,helene.loeuillet@u-bordeaux.fr,Lœuillet,Hélène,E0042\n"
    "jmartin,jean.martin@u-bordeaux.fr,Martin,Jean,E0043\n"
    "jmartin2,jeanne.martin@u-bordeaux.fr,Martin,Jeanne,E0044\n"
)


@dataclass
class Check:
    sim: SimMoodle
    course_id: int
    moodle: MoodleClient
    identity: IdentityClient

    async def decide(self, user: str, identity: IdentityClient | None = None) -> Any:
        principal = Principal(client="moodle-ub1", role="plugin", acting_user=user)
        return await decide(
            principal,
            platform="ub1",
            course_id=self.course_id,
            moodle=self.moodle,
            identity=identity if identity is not None else self.identity,
        )


def _ub1(sim: SimMoodle) -> int:
    ub1 = sim.add_platform("ub1", sitename="UB1", wwwroot="http://sim/ub1")
    ub1.add_category("Miscellaneous", id=1)
    ub1.add_user("admin", "Admin", "User", "admin@ub1.test", id=2, firstaccess=1)
    ub1.add_token("ub1-token", userid=2, functions=all_functions())
    renamed = ub1.add_user("hloeuillet2", "Hélène", "Lœuillet", "h@u.fr", idnumber="E0042")
    # Jeanne's ub1 login is "jmartin"; Jean (directory uid jmartin) has no account on ub1.
    jeanne = ub1.add_user("jmartin", "Jeanne", "Martin", "jeanne@u.fr", idnumber="E0044")
    unknown = ub1.add_user("vacataire", "Paul", "Durand", "p@u.fr")
    course = ub1.add_course("ALG", "Algèbre", 1)
    manual = ub1.add_instance(course.id, "manual")
    for user in (renamed, jeanne, unknown):
        enrol_user(ub1, manual, user.id, roleid=EDITINGTEACHER)
    student = ub1.add_user("e1", "Léa", "Petit", "e1@u.fr", idnumber="21900001")
    enrol_user(ub1, manual, student.id, roleid=STUDENT)
    return course.id


async def _wait(http: httpx.AsyncClient, job: httpx.Response) -> None:
    assert job.status_code == 202, job.text
    for _ in range(400):  # bounded: about 20 s
        found = (await http.get(f"/identity/v1/imports/{job.json()['id']}", headers=ADMIN)).json()
        if found["state"] in ("done", "failed"):
            assert found["state"] == "done", found
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not end")


@asynccontextmanager
async def checking(tmp_path: Path) -> AsyncIterator[Check]:
    sim = SimMoodle()
    course_id = _ub1(sim)
    sim_app = create_sim_app(sim)
    settings = IdentitySettings(
        environment="test",
        demo_tokens=True,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}",
        database_create_tables=True,
        platforms=[MoodlePlatform(name="ub1", url="http://sim/ub1", token=SecretStr("ub1-token"))],
    )
    app = create_identity(settings, moodle_transport=httpx.ASGITransport(app=sim_app))
    async with (
        asgi_client(app) as identity_http,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app)) as moodle_http,
    ):
        await _wait(
            identity_http,
            await identity_http.post(
                "/identity/v1/file-imports",
                params={"source": "directory_csv"},
                content=DIRECTORY.encode(),
                headers={**ADMIN, "content-type": "text/csv"},
            ),
        )
        body = {"source": "moodle_ws", "platform": "ub1"}
        await _wait(
            identity_http,
            await identity_http.post("/identity/v1/imports", json=body, headers=ADMIN),
        )
        yield Check(
            sim,
            course_id,
            MoodleClient(base_url="http://sim/ub1", token="ub1-token", http=moodle_http),
            IdentityClient(http=identity_http, token="demo-service", pause_seconds=0),
        )


async def test_a_teacher_renamed_on_the_old_platform_is_found_through_identity(
    tmp_path: Path,
) -> None:
    async with checking(tmp_path) as check:
        decision = await check.decide("hloeuillet")
    assert (decision.requested_by, decision.authorised_as) == ("hloeuillet", "teacher")
    evidence = decision.evidence
    assert (evidence["matched_by"], evidence["moodle_username"]) == ("identity", "hloeuillet2")
    assert [a["username"] for a in evidence["identity_accounts"]] == ["hloeuillet2"]
    assert "identity_fallback" not in evidence


async def test_a_username_that_is_another_persons_account_is_not_taken(tmp_path: Path) -> None:
    """Jeanne's ub1 login is "jmartin", the directory uid of Jean, who has no ub1 account:
    a match by username would let Jean migrate Jeanne's course; identity's links say no."""
    async with checking(tmp_path) as check:
        jeanne = await check.decide("jmartin2")
        with pytest.raises(NotCourseTeacher):
            await check.decide("jmartin")
    assert jeanne.evidence["matched_by"] == "identity"
    assert jeanne.evidence["moodle_username"] == "jmartin"


async def test_someone_identity_does_not_know_falls_back_to_the_username(tmp_path: Path) -> None:
    async with checking(tmp_path) as check:
        decision = await check.decide("vacataire")
        with pytest.raises(NotCourseTeacher):
            await check.decide("inconnu")  # nobody identity knows, and no such teacher
    assert decision.authorised_as == "teacher"
    assert decision.evidence["matched_by"] == "username"
    assert decision.evidence["identity_fallback"] == "the person is not in identity's directory"


async def test_identity_down_falls_back_to_the_username_and_says_why(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with (
        checking(tmp_path) as check,
        httpx.AsyncClient(transport=httpx.MockTransport(down), base_url="http://id") as http,
    ):
        decision = await check.decide("vacataire", IdentityClient(http=http, token="t"))
        with pytest.raises(NotCourseTeacher):  # the renamed teacher is not found without it
            await check.decide("hloeuillet", IdentityClient(http=http, token="t"))
    assert decision.evidence["matched_by"] == "username"
    assert decision.evidence["identity_fallback"].startswith("identity did not answer")
