"""The orchestrator bench's work: migrations requested as teachers do, a backlog written in
bulk, and one migration drained end to end through the orchestrator's own functions."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from fusion.auth import Principal
from fusion.contracts import Envelope, MigrationStateChanged, RunBackup
from services.migration_orchestrator.migrations import analysis, post_restore, restore_area
from services.migration_orchestrator.migrations.backups import (
    backup_stored,
    claim_backup,
    held_backup,
    receive_backup,
)
from services.migration_orchestrator.migrations.models import (
    Migration,
    MigrationTransition,
    messaging,
    utcnow,
)
from services.migration_orchestrator.migrations.requests import active_key, request_migration
from services.migration_orchestrator.migrations.schemas import MigrationCreate
from services.migration_orchestrator.migrations.states import State
from services.migration_orchestrator.services import Orchestrator
from sim.mbz import BackupSpec, CourseSpec, write_course_backup
from sim.moodle.state import SimMoodle

ADMIN = Principal(client="bench", role="admin")
REQUESTERS = 8
SEEDED_COURSES = 1_000_000  # course ids of the bulk backlog: apart from the simulator's


def identity_clean(request: httpx.Request) -> httpx.Response:
    del request
    counts = {"maps": 0, "creates": 0, "conflicts": 0}
    return httpx.Response(
        200, json={"platform": "target", "clean": True, "counts": counts, "users": []}
    )


def backup_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.mbz"
        spec = BackupSpec(course=CourseSpec(id=5, shortname="BENCH", fullname="Bench"))
        write_course_backup(path, spec=spec, container="tar.gz")
        return path.read_bytes()


async def _one_chunk(data: bytes) -> Any:
    yield data


async def enqueue(
    orchestrator: Orchestrator, courses: list[int], *, deadline: float = float("inf")
) -> int:
    """Requests for ``courses``, ``REQUESTERS`` at a time (teachers do not queue politely),
    until ``deadline`` (``time.monotonic()``); returns how many were made."""
    done = await asyncio.gather(
        *(_request(orchestrator, courses[n::REQUESTERS], deadline) for n in range(REQUESTERS))
    )
    return sum(done)


async def _request(orchestrator: Orchestrator, courses: list[int], deadline: float) -> int:
    done = 0
    for course in courses:
        if time.monotonic() > deadline:
            break
        body = MigrationCreate(
            source_platform="ub1",
            source_course_id=course,
            target_category_id=1,
            waive_codes=True,
        )
        async with orchestrator.db.unit_of_work() as session:
            await request_migration(
                session,
                body,
                principal=ADMIN,
                source=orchestrator.moodle["ub1"],
                apogee=orchestrator.apogee,
                sources=orchestrator.sources,
            )
        done += 1
    return done


async def drain_one(orchestrator: Orchestrator, sim: SimMoodle, backup: bytes) -> None:
    db = orchestrator.db
    async with db.unit_of_work() as session:
        claim = await claim_backup(session, platform="ub1", worker="bench", lease_seconds=60)
    assert claim.migration_id is not None
    migration_id = claim.migration_id
    async with db.read() as session:  # as the upload does
        migration = await held_backup(session, migration_id, worker="bench", lock=False)
    stored = await receive_backup(
        migration, _one_chunk(backup), store=orchestrator.store, sha256=None, max_bytes=10**9
    )
    await backup_stored(db, migration, stored)
    await analysis.analyse_stored(orchestrator, migration_id)  # then the identity check
    # as the restore worker's calls do: the attempt recorded and its area ready on the target,
    # a zero-time restore into that area, then the course moved into its category
    ticket = await restore_area.start(orchestrator, migration_id, worker="bench")
    course = sim["target"].add_course(f"R{migration_id}", "Restauré", ticket.category_id)
    await restore_area.done(orchestrator, migration_id, course_id=course.id, attempt=ticket.attempt)
    await post_restore.finish(orchestrator, migration_id)


async def seed_backlog(orchestrator: Orchestrator, count: int) -> None:
    """``count`` migrations queued on ub1 as ``request_migration`` leaves them (the migration
    queued, its two history rows, its two outbox messages), written in bulk."""
    migrations = Migration.__table__  # type: ignore[attr-defined]
    history = MigrationTransition.__table__  # type: ignore[attr-defined]
    for first in range(0, count, 1_000):
        rows = []
        for n in range(first, min(count, first + 1_000)):
            course = SEEDED_COURSES + n
            now = utcnow()
            rows.append(
                {
                    "source_platform": "ub1",
                    "source_course_id": course,
                    "active_key": active_key("ub1", course),
                    "target_category_id": 1,
                    "visible": True,
                    "apogee_codes": [],
                    "codes_waived": True,
                    "with_users": True,
                    "requested_by": ADMIN.client,
                    "authorised_as": ADMIN.role,
                    "evidence": {"role": ADMIN.role, "client": ADMIN.client},
                    "enrol_teachers": [],
                    "priority": 0,
                    "state": State.BACKUP_QUEUED.value,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        async with orchestrator.db.unit_of_work() as session:
            ids = (await session.execute(insert(migrations).returning(migrations.c.id), rows)).all()
            moves, messages = [], []
            for (migration_id,) in ids:
                now = utcnow()
                moves += [
                    {
                        "migration_id": migration_id,
                        "from_state": None,
                        "to_state": State.REQUESTED.value,
                        "cause": "request",
                        "at": now,
                    },
                    {
                        "migration_id": migration_id,
                        "from_state": State.REQUESTED.value,
                        "to_state": State.BACKUP_QUEUED.value,
                        "cause": "requested by bench",
                        "at": now,
                    },
                ]
                changed = MigrationStateChanged(
                    migration_id=migration_id,
                    source_platform="ub1",
                    previous_state=State.REQUESTED.value,
                    state=State.BACKUP_QUEUED.value,
                    cause="requested by bench",
                )
                for message in (changed, RunBackup(migration_id=migration_id, platform="ub1")):
                    envelope = Envelope.of(message)
                    messages.append(
                        {
                            "message_id": envelope.message_id,
                            "type": envelope.type,
                            "envelope": envelope.model_dump_json(),
                            "created_at": now,
                            "available_at": now,
                            "attempts": 0,
                        }
                    )
            await session.execute(insert(history), moves)
            await session.execute(insert(messaging.outbox), messages)
