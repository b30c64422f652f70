"""``fusion sync run``: the CLI plans, applies with a progress bar, and prints the outcome."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from fusion.db import Database
from services.enrolment_sync.cli import main
from services.enrolment_sync.methods import add_method
from services.enrolment_sync.models import metadata
from services.enrolment_sync.settings import Settings
from sim.moodle.app import create_sim_app
from sim.moodle.state import SimMoodle
from tests.enrolment_sync.merged import merged_platform

from .fake_apogee import FakeApogee, FakeCode


async def _prepare(url: str, course: int) -> None:
    db = Database(url)
    await db.create_all(metadata)
    async with db.unit_of_work() as session:
        await add_method(
            session,
            course_id=course,
            code="ELP7",
            year=None,
            role="student",
            groups=False,
            source="test",
        )
    await db.dispose()


def test_cli_dry_run_then_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = SimMoodle()
    target = merged_platform(sim)
    course = target.add_course("CLI101", "CLI", 1)
    target.add_instance(course.id, "manual")
    students = [f"2192{n:04d}" for n in range(4)]
    for s in students:
        target.add_user(f"u{s}", "P", "N", f"{s}@etu.example.edu", idnumber=s)
    apogee = FakeApogee(codes={"ELP7": FakeCode(members=dict.fromkeys(students, ("N", "P")))})
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    asyncio.run(_prepare(url, course.id))
    settings = Settings(
        environment="test",
        database_url=url,
        database_create_tables=True,  # _prepare built the tables from the models, not Alembic
        moodle_url="http://sim/target",
        apogee_url="http://apogee",
    )
    transports = (apogee.transport(), httpx.ASGITransport(app=create_sim_app(sim)))

    assert main(["sync", "run", "--dry-run"], settings=settings, transports=transports) == 0
    assert "previewed" in capsys.readouterr().out
    assert target.enrolled_userids(course.id) == set()

    assert main(["run", "--full"], settings=settings, transports=transports) == 0
    captured = capsys.readouterr()
    assert "batches" in captured.err
    assert "1/1" in captured.err  # the rich progress bar, batches applied of the plan
    assert "completed" in captured.out
    assert "adds: 4" in captured.out
    assert len(target.enrolled_userids(course.id)) == 4

    assert main(["run", "--dry-run", "--json"], settings=settings, transports=transports) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "previewed"

    assert main(["sync", "resume", "2"], settings=settings, transports=transports) == 2
    assert "seules les synchronisations arrêtées ou en échec reprennent" in capsys.readouterr().err
