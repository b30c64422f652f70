"""Reading migrations: lists for the dashboards and "my migrations", one with its history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import col

from fusion.auth import Principal
from fusion.errors import NotFound
from services.migration_orchestrator.migrations.models import (
    BackupAnalysis,
    Migration,
    MigrationLog,
    MigrationTeacher,
    MigrationTransition,
)
from services.migration_orchestrator.migrations.schemas import (
    LogPublic,
    MigrationDetail,
    MigrationPublic,
    MigrationsPublic,
    TransitionPublic,
)
from services.migration_orchestrator.migrations.states import LABELS_FR, State


class MigrationNotVisible(NotFound):
    code = "migration_not_found"


def public(migration: Migration) -> MigrationPublic:
    data = migration.model_dump()
    return MigrationPublic(**data, state_label_fr=LABELS_FR[State(migration.state)])


def _visible_to(query: Select[Any], principal: Principal) -> Select[Any]:
    """A plugin's user sees the migrations of the courses they taught, whoever asked."""
    if principal.role in ("admin", "service"):
        return query
    user = principal.acting_user or ""
    taught = select(col(MigrationTeacher.migration_id)).where(
        col(MigrationTeacher.username) == user
    )
    return query.where(or_(col(Migration.requested_by) == user, col(Migration.id).in_(taught)))


async def list_migrations(
    session: AsyncSession,
    principal: Principal,
    *,
    state: str | None,
    platform: str | None,
    batch_id: str | None,
    limit: int,
    offset: int,
) -> MigrationsPublic:
    query = _visible_to(select(Migration), principal)
    if state:
        query = query.where(col(Migration.state) == state)
    if platform:
        query = query.where(col(Migration.source_platform) == platform)
    if batch_id:
        query = query.where(col(Migration.batch_id) == batch_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(col(Migration.id).desc()).limit(limit).offset(offset)
    )
    return MigrationsPublic(total=int(total or 0), items=[public(m) for m in rows.scalars()])


async def visible_migration(
    session: AsyncSession, migration_id: int, principal: Principal, *, lock: bool = False
) -> Migration:
    query = _visible_to(select(Migration).where(col(Migration.id) == migration_id), principal)
    if lock:
        query = query.with_for_update()
    migration = (await session.execute(query)).scalar_one_or_none()
    if migration is None:
        raise MigrationNotVisible(
            f"No migration {migration_id} that you may see.",
            message_fr=f"Aucune migration {migration_id} que vous puissiez consulter.",
        )
    assert isinstance(migration, Migration)
    return migration


async def detail(session: AsyncSession, migration: Migration) -> MigrationDetail:
    history = await session.execute(
        select(MigrationTransition)
        .where(col(MigrationTransition.migration_id) == migration.id)
        .order_by(col(MigrationTransition.id))
    )
    logs = await session.execute(
        select(MigrationLog)
        .where(col(MigrationLog.migration_id) == migration.id)
        .order_by(col(MigrationLog.id))
    )
    return MigrationDetail(
        **public(migration).model_dump(),
        evidence=migration.evidence,
        history=[TransitionPublic(**t.model_dump()) for t in history.scalars()],
        logs=[LogPublic(**entry.model_dump()) for entry in logs.scalars()],
    )


# Built once (the steps run them for every migration; ``session.get`` builds its query on each
# call); a step that reads more adds its columns.
BY_ID = select(Migration).where(col(Migration.id) == bindparam("migration_id"))
_BY_ID_LOCKED = BY_ID.with_for_update()


async def migration_by_id(
    session: AsyncSession, migration_id: int, *, lock: bool = False
) -> Migration | None:
    """One migration (``lock``: for update, in a transaction)."""
    query = _BY_ID_LOCKED if lock else BY_ID
    return (await session.execute(query, {"migration_id": migration_id})).scalar_one_or_none()


WITH_REPORT = (
    select(Migration, BackupAnalysis)
    .outerjoin(BackupAnalysis, col(BackupAnalysis.migration_id) == col(Migration.id))
    .where(col(Migration.id) == bindparam("migration_id"))
)


async def with_report(
    session: AsyncSession, migration_id: int
) -> tuple[Migration | None, BackupAnalysis | None]:
    """A migration and the pre-flight report of its stored backup, in one query (the steps
    after the pre-flight read both before they call an upstream)."""
    row = (await session.execute(WITH_REPORT, {"migration_id": migration_id})).first()
    return (None, None) if row is None else (row[0], row[1])
