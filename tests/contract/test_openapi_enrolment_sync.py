"""enrolment_sync against the Moodle simulator and a stand-in Apogée: schema-generated input
gets a documented answer, never a server error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from schemathesis import Case
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fusion.db import Database
from fusion.runtime import Seams
from services.enrolment_sync.app import create_app
from services.enrolment_sync.models import metadata
from services.enrolment_sync.settings import Settings
from sim.moodle.app import create_sim_app
from sim.moodle.state import SimMoodle, all_functions
from tests.enrolment_sync.fake_apogee import FakeApogee, FakeCode

from .harness import ADMIN, BOUNDED, call_and_validate, schema_of, served


def _settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        demo_tokens=True,
        database_url=database_url,
        schedule_enabled=False,
        moodle_url="http://sim/target",
        apogee_url="http://apogee",
        course_sync_min_interval_seconds=0,
    )


schema = schema_of(create_app(_settings("sqlite+aiosqlite:///:memory:")))


def _world() -> tuple[SimMoodle, FakeApogee]:
    """A target platform with a course and two students, an Apogée code holding them."""
    sim = SimMoodle()
    target = sim.add_platform("target", sitename="Target", wwwroot="http://moodle.test")
    admin = target.add_user("admin", "Admin", "User", "admin@example.edu", id=2)
    target.add_token("target-token", userid=admin.id, functions=all_functions())
    target.add_category("Default", id=1)
    course = target.add_course("BIO101", "Biologie", 1)
    target.add_instance(course.id, "manual")
    apogee = FakeApogee()
    members = {}
    for cod_etu in ("21900001", "21900002"):
        target.add_user(
            f"u{cod_etu}", "Prénom", "Nom", f"{cod_etu}@etu.example.edu", idnumber=cod_etu
        )
        members[cod_etu] = ("Nom", "Prénom")
    apogee.codes["UE1BIO"] = FakeCode(members=members)
    return sim, apogee


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Any]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    database = Database(url)
    await database.create_all(metadata)
    await database.dispose()
    sim, apogee = _world()
    service = create_app(
        _settings(url),
        seams=Seams(
            transports={
                "apogee": apogee.transport(),
                "moodle": httpx.ASGITransport(app=create_sim_app(sim)),
            }
        ),
    )
    with served(service) as hosted:
        yield hosted


# Rules no JSON schema can state refuse some schema-valid bodies with a precise 400: a code
# Apogée does not know (apogee_code_rejected), a course linked to itself (meta_link_to_itself).
BUSINESS_RULES = {"POST /sync/v1/methods", "POST /sync/v1/meta-links"}


@schema.parametrize()
@BOUNDED
def test_enrolment_sync_answers_as_documented(case: Case, app: Any) -> None:
    excluded: list[CheckFunction] = (
        [positive_data_acceptance] if case.operation.label in BUSINESS_RULES else []
    )
    call_and_validate(case, app, headers=ADMIN, excluded_checks=excluded)
