"""Each source platform has ``concurrency`` slots; a backup runs only while it holds one.

The slots are rows in the orchestrator's database, so the limit holds however many workers
(and orchestrator replicas) there are: a slot is taken by a conditional UPDATE that only one
transaction can win, on PostgreSQL as on SQLite. A worker that dies stops renewing its lease;
the lease watcher puts its migration back in the queue and frees the slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, bindparam, delete, exists, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from fusion.db import on_postgresql
from fusion.guarded import Alongside
from services.migration_orchestrator.migrations.models import Migration, PlatformSlot, utcnow
from services.migration_orchestrator.migrations.states import State


async def ensure_slots(session: AsyncSession, concurrency: dict[str, int]) -> None:
    """Create the missing slots; drop free ones beyond a lowered concurrency."""
    rows = (await session.execute(select(col(PlatformSlot.platform), col(PlatformSlot.slot)))).all()
    have = {(row.platform, row.slot) for row in rows}
    for platform, count in concurrency.items():
        for slot in range(count):
            if (platform, slot) not in have:
                session.add(PlatformSlot(platform=platform, slot=slot))
        await session.execute(
            delete(PlatformSlot).where(
                col(PlatformSlot.platform) == platform,
                col(PlatformSlot.slot) >= count,
                col(PlatformSlot.migration_id).is_(None),
            )
        )
    await session.flush()


@dataclass(frozen=True)
class Claimed:
    migration: Migration
    slot: int


# Built once, with bound parameters: the claim runs them for every backup, and building an
# ORM expression costs more than running it.
_FREE_SLOT = (
    select(col(PlatformSlot.slot))
    .where(col(PlatformSlot.platform) == bindparam("platform"))
    .where(col(PlatformSlot.migration_id).is_(None))
    .order_by(col(PlatformSlot.slot))
    .limit(1)
    .with_for_update(skip_locked=True)
)
_NEXT_QUEUED = (
    select(Migration)
    .where(
        col(Migration.source_platform) == bindparam("platform"),
        col(Migration.state) == State.BACKUP_QUEUED.value,
    )
    .order_by(col(Migration.priority), col(Migration.id))
    .limit(1)
    .with_for_update(skip_locked=True)
)
_HELD = aliased(PlatformSlot)
# Not if another claim gave this migration a slot meanwhile (SQLite reads without locking rows:
# two claims may pick the same queued migration; the second finds it held here).
_TAKE_SLOT = (
    update(PlatformSlot)
    .where(
        col(PlatformSlot.platform) == bindparam("s_platform"),
        col(PlatformSlot.slot) == bindparam("s_slot"),
        col(PlatformSlot.migration_id).is_(None),
        ~exists().where(col(_HELD.migration_id) == bindparam("s_migration_id")),
    )
    .values(migration_id=bindparam("s_migration_id"), taken_at=bindparam("s_taken_at"))
    .execution_options(synchronize_session=False)
)
_RELEASE_SLOT = (
    update(PlatformSlot)
    .where(col(PlatformSlot.migration_id) == bindparam("s_migration_id"))
    .values(migration_id=None, taken_at=None)
    .execution_options(synchronize_session=False)
)


async def _free_slot(session: AsyncSession, platform: str) -> int | None:
    return (await session.execute(_FREE_SLOT, {"platform": platform})).scalar_one_or_none()


async def _next_queued(session: AsyncSession, platform: str) -> Migration | None:
    return (await session.execute(_NEXT_QUEUED, {"platform": platform})).scalar_one_or_none()


async def take_slot(session: AsyncSession, platform: str, migration_id: int) -> int | None:
    """The slot now held for ``migration_id``, or None when every slot is busy."""
    slot = await _free_slot(session, platform)
    if slot is None:
        return None
    result = await session.execute(_TAKE_SLOT, _taking(platform, slot, migration_id))
    return slot if getattr(result, "rowcount", 0) == 1 else None


def _taking(platform: str, slot: int, migration_id: int) -> dict[str, object]:
    """``_TAKE_SLOT``'s parameters."""
    return {
        "s_platform": platform,
        "s_slot": slot,
        "s_migration_id": migration_id,
        "s_taken_at": utcnow(),
    }


async def release_slot(session: AsyncSession, migration_id: int) -> None:
    await session.execute(_RELEASE_SLOT, {"s_migration_id": migration_id})


def slot_released(migration_id: int) -> Alongside:
    """The slot of ``migration_id`` freed by the statement that moves it on."""
    return Alongside(_RELEASE_SLOT, {"s_migration_id": migration_id})


# PostgreSQL: the most urgent queued migration of a platform and a free slot of it, both
# locked for the claim's transaction (rows other claims hold are skipped), in one statement.
# The slot is NULL when every slot is busy; no row: nothing is queued.
_QUEUED = _NEXT_QUEUED.cte("queued")
_FREE = _FREE_SLOT.cte("free")
_QUEUED_AND_FREE = select(aliased(Migration, _QUEUED), _FREE.c.slot).select_from(
    _QUEUED.outerjoin(_FREE, true())
)


@dataclass(frozen=True)
class Claim:
    """What a claim found: the most urgent queued migration (None: nothing queued), a slot for
    it (None: every slot is busy), and ``taking``, the updates its move makes alongside."""

    migration: Migration | None
    slot: int | None = None
    taking: tuple[Alongside, ...] = ()


async def next_claim(session: AsyncSession, platform: str) -> Claim:
    """In the claim's transaction. On PostgreSQL one statement finds the migration and the
    slot, both locked, and the move takes the slot (``taking``): the locks leave nobody else
    able to take it or to give the migration another. SQLite locks no rows: the slot is taken
    here by its conditional update, before the move."""
    if on_postgresql(session):
        row = (await session.execute(_QUEUED_AND_FREE, {"platform": platform})).first()
        if row is None:
            return Claim(None)
        migration, slot = row
        if slot is None:
            return Claim(migration)
        assert migration.id is not None
        taking = Alongside(_TAKE_SLOT, _taking(platform, slot, migration.id))
        return Claim(migration, slot, (taking,))
    queued = await _next_queued(session, platform)
    if queued is None:
        return Claim(None)
    assert queued.id is not None
    return Claim(queued, await take_slot(session, platform, queued.id))


async def extend_lease(
    session: AsyncSession, migration: Migration, *, worker: str, seconds: float
) -> None:
    migration.lease_until = utcnow() + timedelta(seconds=seconds)
    migration.worker = worker[:100]
    session.add(migration)
    await session.flush()


async def expired_backups(session: AsyncSession, *, limit: int = 100) -> list[Migration]:
    query = (
        select(Migration)
        .where(
            col(Migration.state) == State.BACKING_UP.value,
            and_(col(Migration.lease_until).is_not(None), col(Migration.lease_until) < utcnow()),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


async def running_by_platform(session: AsyncSession) -> dict[str, int]:
    query = (
        select(col(PlatformSlot.platform), func.count())
        .where(col(PlatformSlot.migration_id).is_not(None))
        .group_by(col(PlatformSlot.platform))
    )
    return {row[0]: int(row[1]) for row in (await session.execute(query)).all()}
