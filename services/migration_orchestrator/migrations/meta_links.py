"""Meta links of migrated courses, recreated on the target (a cross-site restore drops them).

A link whose linked course is not on the target yet waits in the ledger and is created the
moment that course arrives. Moodle's ``enrol_meta_add_instances`` accepts self-links and
cycles, so each link is checked against the links already made before it is asked for, and
Moodle's answer is checked after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from fusion.moodle import MetaLink, MoodleClient
from services.migration_orchestrator.migrations.models import Migration, PendingMetaLink, utcnow

# A migration whose course is on the target: restored, or done.
ON_TARGET = ("post_restore", "done")


@dataclass(frozen=True)
class Edge:
    parent: int  # target course whose enrolments flow ...
    child: int  # ... into this one (the course holding the enrol_meta instance)


async def made_edges(session: AsyncSession) -> set[Edge]:
    """Every link created so far, as target courses: one query, however many there are."""
    parent = aliased(Migration)
    query = (
        select(col(Migration.target_course_id), col(parent.target_course_id))
        .select_from(PendingMetaLink)
        .join(Migration, col(Migration.id) == col(PendingMetaLink.child_migration_id))
        .join(
            parent,
            and_(
                col(parent.source_platform) == col(PendingMetaLink.platform),
                col(parent.source_course_id) == col(PendingMetaLink.linked_source_course_id),
                col(parent.active_key).is_not(None),
                col(parent.state).in_(ON_TARGET),
            ),
        )
        .where(col(PendingMetaLink.status) == "created")
    )
    rows = (await session.execute(query)).all()
    return {
        Edge(parent_id, child_id)
        for child_id, parent_id in rows
        if child_id is not None and parent_id is not None
    }


def would_loop(edges: set[Edge], new: Edge) -> bool:
    """True for a self-link, or when ``new.child`` already reaches ``new.parent``."""
    if new.parent == new.child:
        return True
    seen, frontier = {new.child}, [new.child]
    while frontier:
        course = frontier.pop()
        for edge in edges:
            if edge.parent == course and edge.child not in seen:
                if edge.child == new.parent:
                    return True
                seen.add(edge.child)
                frontier.append(edge.child)
    return False


async def target_of(session: AsyncSession, platform: str, source_course_id: int) -> int | None:
    query = select(col(Migration.target_course_id)).where(
        col(Migration.source_platform) == platform,
        col(Migration.source_course_id) == source_course_id,
        col(Migration.active_key).is_not(None),
        col(Migration.state).in_(ON_TARGET),
    )
    return (await session.execute(query)).scalar_one_or_none()


async def record_links(session: AsyncSession, migration: Migration, linked: list[int]) -> None:
    """The backup's meta links, into the ledger as pending (once)."""
    assert migration.id is not None
    if not linked:  # most courses: nothing to record, nothing to read
        return
    existing = await session.execute(
        select(col(PendingMetaLink.linked_source_course_id)).where(
            col(PendingMetaLink.child_migration_id) == migration.id
        )
    )
    known = set(existing.scalars())
    for course in sorted(set(linked) - known):
        session.add(
            PendingMetaLink(
                child_migration_id=migration.id,
                platform=migration.source_platform,
                linked_source_course_id=course,
            )
        )
    await session.flush()


def _due_to(migration_id: Any, platform: Any, course: Any) -> ColumnElement[bool]:
    """Pending links of a migration, and pending links of others to its source course."""
    return and_(
        col(PendingMetaLink.status) == "pending",
        (col(PendingMetaLink.child_migration_id) == migration_id)
        | (
            (col(PendingMetaLink.platform) == platform)
            & (col(PendingMetaLink.linked_source_course_id) == course)
        ),
    )


_DUE = (
    select(PendingMetaLink)
    .where(_due_to(bindparam("migration_id"), bindparam("platform"), bindparam("course_id")))
    .order_by(col(PendingMetaLink.id))
)
# Whether links are due for the migration of the enclosing query (correlated to ``Migration``).
LINKS_DUE = exists().where(
    _due_to(col(Migration.id), col(Migration.source_platform), col(Migration.source_course_id))
)


async def due_links(session: AsyncSession, migration: Migration) -> list[PendingMetaLink]:
    """Pending links of this course, and pending links of others to this course, the oldest
    first (a link that waited is made before a newer one that would close a loop with it)."""
    values = {
        "migration_id": migration.id,
        "platform": migration.source_platform,
        "course_id": migration.source_course_id,
    }
    return list((await session.execute(_DUE, values)).scalars())


async def create_due_links(
    session: AsyncSession, migration: Migration, *, target: MoodleClient
) -> list[str]:
    """Create every link both of whose ends are on the target; what happened, for the log."""
    notes: list[str] = []
    due = await due_links(session, migration)
    if not due:
        return notes
    edges = await made_edges(session)
    for pending in due:
        child_migration = await session.get(Migration, pending.child_migration_id)
        parent = await target_of(session, pending.platform, pending.linked_source_course_id)
        if child_migration is None or child_migration.target_course_id is None or parent is None:
            continue
        edge = Edge(parent, child_migration.target_course_id)
        notes.append(await _create(session, pending, edge, edges, target=target))
    return notes


async def _create(
    session: AsyncSession,
    pending: PendingMetaLink,
    edge: Edge,
    edges: set[Edge],
    *,
    target: MoodleClient,
) -> str:
    pending.resolved_at = utcnow()
    session.add(pending)
    if would_loop(edges, edge):
        pending.status, pending.reason = "refused", "self-link or cycle"
        return f"meta link {edge.parent} -> {edge.child} refused: it would make a loop"
    answer = await target.call(
        "enrol_meta_add_instances",
        {"instances": [{"metacourseid": edge.child, "courseid": edge.parent}]},
    )
    row = answer[0] if isinstance(answer, list) and answer else {}
    if int(row.get("metacourseid", 0)) != edge.child or int(row.get("courseid", 0)) != edge.parent:
        pending.status, pending.reason = "refused", f"unexpected answer {row!r}"[:500]
        return f"meta link {edge.parent} -> {edge.child}: Moodle answered {row!r}"
    pending.status = "created"
    edges.add(edge)
    return f"meta link {edge.parent} -> {edge.child} created"


__all__ = ["LINKS_DUE", "Edge", "MetaLink", "create_due_links", "record_links", "would_loop"]
