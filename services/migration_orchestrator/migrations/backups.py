"""The orchestrator's side of the backup step: what a platform worker claims and reports."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fusion.db import Database
from fusion.errors import Conflict, NotFound
from services.migration_orchestrator.migrations.lifecycle import StateMoved, one_move, transition
from services.migration_orchestrator.migrations.logs import add_log, log_row
from services.migration_orchestrator.migrations.models import Migration, utcnow
from services.migration_orchestrator.migrations.queries import migration_by_id
from services.migration_orchestrator.migrations.requests import queue_backup
from services.migration_orchestrator.migrations.states import State, Step
from services.migration_orchestrator.scheduling.slots import (
    expired_backups,
    next_claim,
    release_slot,
    slot_released,
)
from services.migration_orchestrator.store import BackupStore, StoredBackup


class NotYourBackup(Conflict):
    code = "backup_not_claimed"


class MigrationNotFound(NotFound):
    code = "migration_not_found"


@dataclass(frozen=True)
class BackupClaim:
    status: str  # claimed | busy | idle
    migration_id: int | None = None
    course_id: int | None = None


async def claim_backup(
    session: AsyncSession, *, platform: str, worker: str, lease_seconds: float
) -> BackupClaim:
    """The most urgent queued backup of ``platform``, if one of its slots is free."""
    claim = await next_claim(session, platform)
    migration = claim.migration
    if migration is None:
        return BackupClaim("idle")
    assert migration.id is not None
    if claim.slot is None:
        return BackupClaim("busy")
    await transition(
        session,
        migration,
        State.BACKING_UP,
        cause=f"worker {worker}",
        changes={
            "attempts": migration.attempts + 1,
            "lease_until": utcnow() + timedelta(seconds=lease_seconds),
            "worker": worker[:100],
        },
        alongside=claim.taking,
    )
    return BackupClaim("claimed", migration.id, migration.source_course_id)


async def held_backup(
    session: AsyncSession, migration_id: int, *, worker: str, lock: bool = True
) -> Migration:
    """The migration whose backup ``worker`` holds (``lock``: for update, in a transaction)."""
    migration = await migration_by_id(session, migration_id, lock=lock)
    if migration is None:
        raise MigrationNotFound(
            f"No migration {migration_id}.", message_fr=f"Pas de migration {migration_id}."
        )
    if migration.state != State.BACKING_UP.value or migration.worker != worker[:100]:
        raise _lost()
    return migration


def backup_key(migration: Migration) -> str:
    return f"migration-{migration.id}-attempt-{migration.attempts}.mbz"


async def receive_backup(
    migration: Migration,
    chunks: AsyncIterable[bytes],
    *,
    store: BackupStore,
    sha256: str | None,
    max_bytes: int,
) -> StoredBackup:
    return await store.write(backup_key(migration), chunks, sha256=sha256, max_bytes=max_bytes)


async def backup_stored(db: Database, migration: Migration, stored: StoredBackup) -> None:
    """``migration`` (read before the upload, outside any transaction) backed up as
    ``stored``, its slot released: one statement, conditional on the worker still holding
    the backup it claimed (same attempt), else ``NotYourBackup``."""
    assert migration.id is not None
    stored_as = {
        "backup_key": stored.key,
        "backup_sha256": stored.sha256,
        "backup_bytes": stored.size,
        "lease_until": None,
    }
    try:
        async with one_move(db, 1) as session:
            await transition(
                session,
                migration,
                State.BACKED_UP,
                cause=f"worker {migration.worker}",
                changes=stored_as,
                rows=[log_row(migration.id, Step.BACKUP, f"backup stored ({stored.size} bytes)")],
                expect={"worker": migration.worker, "attempts": migration.attempts},
                alongside=[slot_released(migration.id)],
            )
    except StateMoved as moved:
        raise _lost() from moved


def _lost() -> NotYourBackup:
    return NotYourBackup(
        "This backup is not held by this worker any more (lease lost or cancelled).",
        message_fr="Cette sauvegarde n'est plus confiée à ce worker (bail perdu ou annulée).",
    )


async def backup_failed(
    session: AsyncSession,
    migration: Migration,
    *,
    message: str,
    message_fr: str,
    retryable: bool,
    max_attempts: int,
    details: dict[str, Any] | None,
) -> None:
    assert migration.id is not None
    await release_slot(session, migration.id)
    migration.lease_until = None
    await add_log(
        session,
        migration.id,
        Step.BACKUP,
        message,
        level="error",
        details=details,
        message_fr=message_fr,
    )
    if retryable and migration.attempts < max_attempts:
        await queue_backup(session, migration, cause=f"retry after: {message}")
        return
    await transition(
        session,
        migration,
        State.FAILED,
        cause="backup failed",
        reason=message,
        reason_fr=message_fr,
    )


async def requeue_expired(session: AsyncSession, *, max_attempts: int) -> int:
    """Backups whose worker stopped renewing its lease: queued again, or failed at the limit."""
    migrations = await expired_backups(session)
    for migration in migrations:
        await backup_failed(
            session,
            migration,
            message=f"worker {migration.worker} stopped answering during the backup",
            message_fr="Le worker a cessé de répondre pendant la sauvegarde.",
            retryable=True,
            max_attempts=max_attempts,
            details=None,
        )
    return len(migrations)
