"""Meta links recreated on the target: made once both courses are there, never into a loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from fusion.db import Database
from fusion.moodle import MoodleClient
from services.migration_orchestrator.migrations.meta_links import (
    Edge,
    create_due_links,
    made_edges,
    record_links,
)
from services.migration_orchestrator.migrations.models import Migration, PendingMetaLink, metadata


class Target:
    """The merged platform's ``enrol_meta_add_instances``, as Moodle answers it."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []  # (metacourseid, courseid)

    async def call(self, function: str, params: dict[str, Any]) -> Any:
        assert function == "enrol_meta_add_instances"
        instance = params["instances"][0]
        self.asked.append((instance["metacourseid"], instance["courseid"]))
        return [{"metacourseid": instance["metacourseid"], "courseid": instance["courseid"]}]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await db.create_all(metadata)
    yield db
    await db.dispose()


async def migrated(db: Database, course: int, *, state: str, target: int | None) -> int:
    async with db.unit_of_work() as session:
        migration = Migration(
            source_platform="ub1",
            source_course_id=course,
            active_key=f"ub1:{course}",
            target_category_id=1,
            requested_by="test",
            authorised_as="admin",
            state=state,
            target_course_id=target,
        )
        session.add(migration)
    assert migration.id is not None
    return migration.id


async def arrive(db: Database, migration_id: int, linked: list[int], target: Target) -> list[str]:
    """What post-restore does with the links of a course that just arrived."""
    async with db.unit_of_work() as session:
        migration = await session.get(Migration, migration_id)
        assert migration is not None
        await record_links(session, migration, linked)
        return await create_due_links(session, migration, target=cast(MoodleClient, target))


async def statuses(db: Database) -> dict[tuple[int, int], str]:
    async with db.session() as session:
        rows = (await session.execute(PendingMetaLink.__table__.select())).all()  # type: ignore[attr-defined]
    return {(row.child_migration_id, row.linked_source_course_id): row.status for row in rows}


async def test_a_link_waits_for_its_course_then_a_loop_is_refused(database: Database) -> None:
    target = Target()
    parent = await migrated(database, 10, state="restoring", target=None)  # not there yet
    child = await migrated(database, 20, state="post_restore", target=120)
    # The child arrives first: its link to course 10 waits.
    assert await arrive(database, child, [10], target) == []
    assert await statuses(database) == {(child, 10): "pending"}
    async with database.unit_of_work() as session:
        row = await session.get(Migration, parent)
        assert row is not None
        row.state, row.target_course_id = "post_restore", 110
    # The parent arrives, its backup linking back to the child: the waiting link is made, and
    # the link back, which would make a loop (110 -> 120 -> 110), is refused without a call.
    notes = await arrive(database, parent, [20], target)
    assert notes == [
        "meta link 110 -> 120 created",
        "meta link 120 -> 110 refused: it would make a loop",
    ]
    assert target.asked == [(120, 110)]
    assert await statuses(database) == {(child, 10): "created", (parent, 20): "refused"}
    async with database.session() as session:
        assert await made_edges(session) == {Edge(parent=110, child=120)}


async def test_a_course_without_links_asks_nothing(database: Database) -> None:
    target = Target()
    alone = await migrated(database, 30, state="post_restore", target=130)
    assert await arrive(database, alone, [], target) == []
    assert target.asked == []
    assert await statuses(database) == {}
