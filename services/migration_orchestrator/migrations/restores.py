"""The orchestrator's side of the restore step: what the target's worker starts and reports
(the database part; what happens on the target around it is ``restore_area``).

Each start is an *attempt*, named by the time it started: a report carrying an older attempt
(a worker presumed dead whose CLI finished after all) is refused, so it cannot undo the
attempt that runs now.

A restore has a lease, like a backup: the request (the ``restore.run`` message, named by its
id) must be started and reported within the target platform's ``cli_timeout_seconds`` plus
``restore_grace_seconds``. One that is not (the message dead-lettered, the worker gone for
good) is queued again with a new message, whose start empties the restore area as every start
does; a start carrying an older message is refused. At ``backup_max_attempts`` the migration
fails at step restore. A request still waiting in a queue that moves (restores queued before it
keep starting) is not presumed lost: its deadline follows the queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from fusion.contracts import Envelope, RunRestore
from fusion.db import Database
from fusion.errors import Conflict
from fusion.guarded import Insertion, update_then_insert
from fusion.outbox import add_to_outbox
from services.migration_orchestrator.migrations.backups import MigrationNotFound
from services.migration_orchestrator.migrations.lifecycle import message_row, transition
from services.migration_orchestrator.migrations.logs import add_log, log_row
from services.migration_orchestrator.migrations.models import Migration, messaging, utcnow
from services.migration_orchestrator.migrations.queries import migration_by_id
from services.migration_orchestrator.migrations.states import State, Step
from services.migration_orchestrator.settings import Settings

_MIGRATION: Table = Migration.__table__  # type: ignore[attr-defined]
# Conditional on what the start read (the state, the attempt and the request): of two starts
# racing on one migration, the second matches nothing.
_START = (
    update(_MIGRATION)
    .where(
        _MIGRATION.c.id == bindparam("s_id"),
        _MIGRATION.c.state == State.RESTORING.value,
        _MIGRATION.c.restore_started_at.is_not_distinct_from(bindparam("s_read_started_at")),
        _MIGRATION.c.restore_message.is_not_distinct_from(bindparam("s_read_message")),
    )
    .values(
        restore_started_at=bindparam("restore_started_at"),
        worker=bindparam("worker"),
        lease_until=bindparam("lease_until"),
    )
)


class NotRestoring(Conflict):
    code = "migration_not_restoring"


@dataclass(frozen=True)
class RestoreTicket:
    migration_id: int
    category_id: int
    backup_sha256: str
    backup_bytes: int
    retried: bool  # an earlier attempt started and never reported
    attempt: str  # what the worker's reports carry back


def attempt_of(migration: Migration) -> str | None:
    started = migration.restore_started_at
    return None if started is None else started.isoformat()


async def restoring(
    session: AsyncSession, migration_id: int, *, attempt: str | None = None, lock: bool = True
) -> Migration:
    """The migration, if it waits for a restore (and, given ``attempt``, for that attempt's)."""
    migration = await migration_by_id(session, migration_id, lock=lock)
    if migration is None:
        raise MigrationNotFound(
            f"No migration {migration_id}.", message_fr=f"Pas de migration {migration_id}."
        )
    if migration.state != State.RESTORING.value or migration.backup_sha256 is None:
        raise NotRestoring(
            f"Migration {migration_id} is not waiting for a restore (state {migration.state}).",
            message_fr=f"La migration {migration_id} n'attend pas de restauration "
            f"(état {migration.state}).",
        )
    if attempt is not None and attempt != attempt_of(migration):
        raise NotRestoring(
            f"Migration {migration_id} has a newer restore attempt than this one.",
            message_fr=f"La migration {migration_id} a une tentative de restauration plus récente.",
        )
    return migration


def restore_lease_seconds(settings: Settings) -> float:
    """Seconds a restore request has to be started, and then reported, by the target's worker."""
    cli = next(
        (p.cli_timeout_seconds for p in settings.platforms if p.name == settings.target_platform),
        4 * 3600.0,
    )
    return cli + settings.restore_grace_seconds


async def queue_restore(
    session: AsyncSession,
    migration: Migration,
    *,
    rows: Sequence[Insertion] = (),
    via: Sequence[tuple[State, str]] = (),
    changes: Mapping[str, Any] | None = None,
) -> None:
    """``identity_checked`` → ``restoring``: the first request of a new series of attempts
    (``via``: from an earlier state, through those named and ``identity_checked``, in one
    move; ``changes``: other columns that move sets)."""
    envelope, requested = _requested(migration, attempts=1)
    await transition(
        session,
        migration,
        State.RESTORING,
        cause="restore queued",
        changes={**(changes or {}), **requested},
        rows=[message_row(envelope), *rows],
        via=via,
    )


async def _request(session: AsyncSession, migration: Migration) -> None:
    """Another request of the series, after one nobody reported in time."""
    envelope, requested = _requested(migration, attempts=migration.restore_attempts + 1)
    for name, value in requested.items():
        setattr(migration, name, value)
    session.add(migration)
    await add_to_outbox(session, envelope, outbox=messaging.outbox)


def _requested(migration: Migration, *, attempts: int) -> tuple[Envelope, dict[str, Any]]:
    """A new ``restore.run`` message: the attempt a worker may start from now on, and the
    columns that say so. Its deadline is set by the lease watcher's next pass (which knows the
    platform's timeout)."""
    assert migration.id is not None
    envelope = Envelope.of(
        RunRestore(migration_id=migration.id, target_category_id=migration.target_category_id)
    )
    requested = {
        "restore_attempts": attempts,
        "restore_queued_at": utcnow(),
        "lease_until": None,
        "restore_message": str(envelope.message_id),
    }
    return envelope, requested


async def start_restore(
    db: Database,
    migration_id: int,
    *,
    worker: str,
    lease_seconds: float | None = None,
    message: str | None = None,
) -> tuple[RestoreTicket, Migration]:
    """The attempt recorded, its ticket, and the migration as it now is: a read, then one
    statement conditional on it. ``lease_seconds``: the attempt's deadline from now (None: the
    lease watcher's next pass sets it, from this start)."""
    async with db.read() as session:
        migration = await restoring(session, migration_id, lock=False)
    if message is not None and migration.restore_message not in (None, message):
        raise NotRestoring(
            f"This restore request of migration {migration_id} was replaced by a newer one.",
            message_fr=f"Cette demande de restauration de la migration {migration_id} a été "
            "remplacée par une plus récente.",
        )
    retried = migration.restore_started_at is not None
    now = utcnow()
    started = {
        "restore_started_at": now,
        "worker": worker[:100],
        "lease_until": None if lease_seconds is None else now + timedelta(seconds=lease_seconds),
    }
    read = {
        "s_read_started_at": migration.restore_started_at,
        "s_read_message": migration.restore_message,
    }
    again = " (again: the previous attempt never reported)" if retried else ""
    started_by = log_row(migration_id, Step.RESTORE, f"restore started by {worker}{again}")
    async with db.one_statement() as session:
        matched = await update_then_insert(
            session, _START, {"s_id": migration_id, **started, **read}, [started_by]
        )
    if not matched:  # cancelled, reported, started or requested again meanwhile
        async with db.read() as session:
            await restoring(session, migration_id, lock=False)  # says which, if it can
        raise NotRestoring(
            f"Another start of migration {migration_id}'s restore came first.",
            message_fr=f"Un autre démarrage de la restauration de la migration {migration_id} "
            "est arrivé avant.",
        )
    for name, value in started.items():
        set_committed_value(migration, name, value)
    assert migration.backup_sha256 is not None
    assert migration.backup_bytes is not None
    attempt = attempt_of(migration)
    assert attempt is not None
    ticket = RestoreTicket(
        migration_id,
        migration.target_category_id,
        migration.backup_sha256,
        migration.backup_bytes,
        retried,
        attempt,
    )
    return ticket, migration


async def restore_done(
    session: AsyncSession,
    migration: Migration,
    *,
    course_id: int,
    lines: Sequence[tuple[str, str]] = (),
) -> None:
    """``migration`` (read by ``restoring``, in no transaction) to post-restore, with its log
    ``lines`` (level, message), if it still waits for the same attempt; else ``StateMoved``."""
    assert migration.id is not None
    restored = f"restored as course {course_id} on the target"
    rows = [log_row(migration.id, Step.RESTORE, restored)]
    rows += [log_row(migration.id, Step.RESTORE, text, level=level) for level, text in lines]
    await transition(
        session,
        migration,
        State.POST_RESTORE,
        cause=f"worker {migration.worker}",
        changes={"target_course_id": course_id, "lease_until": None},
        rows=rows,
        expect={"restore_started_at": migration.restore_started_at},
    )


async def restore_failed(
    session: AsyncSession,
    migration_id: int,
    *,
    message: str,
    message_fr: str,
    details: dict[str, Any] | None,
    attempt: str | None = None,
) -> Migration:
    migration = await restoring(session, migration_id, attempt=attempt)
    migration.lease_until = None
    session.add(migration)
    await add_log(
        session,
        migration_id,
        Step.RESTORE,
        message,
        level="error",
        details=details,
        message_fr=message_fr,
    )
    await transition(
        session,
        migration,
        State.FAILED,
        cause=f"worker {migration.worker}",
        reason=message,
        reason_fr=message_fr,
    )
    return migration


def _started(migration: Migration) -> bool:
    started, queued = migration.restore_started_at, migration.restore_queued_at
    return started is not None and (queued is None or started >= queued)


async def _queue_moved_at(session: AsyncSession, migration: Migration) -> datetime | None:
    """When a restore queued before this one last started: the queue ahead of it still moves."""
    queued = migration.restore_queued_at
    assert queued is not None
    query = select(func.max(col(Migration.restore_started_at))).where(
        col(Migration.restore_queued_at) < queued,
        col(Migration.restore_started_at) > queued,
    )
    moved: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return moved


@dataclass(frozen=True)
class Expired:
    """What the lease watcher did with one restore: queued again, or failed at the limit."""

    migration_id: int
    failed: bool  # at the limit: to fail (``fail_expired``) once its restore area is cleared
    request: str | None = None  # the request that ran out last


async def expire_restores(
    session: AsyncSession, *, lease_seconds: float, max_attempts: int, limit: int = 100
) -> list[Expired]:
    """Restores whose deadline passed: given a deadline (just queued), followed (the queue ahead
    moves), queued again, or failed at ``max_attempts``."""
    now = utcnow()
    query = (
        select(Migration)
        .where(
            col(Migration.state) == State.RESTORING.value,
            or_(col(Migration.lease_until).is_(None), col(Migration.lease_until) < now),
        )
        .order_by(col(Migration.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    expired: list[Expired] = []
    for migration in (await session.execute(query)).scalars():
        assert migration.id is not None
        session.add(migration)
        if migration.lease_until is None:  # queued or started since the last pass
            queued = migration.restore_queued_at = migration.restore_queued_at or now
            started = migration.restore_started_at
            since = queued if started is None else max(queued, started)
            migration.lease_until = since + timedelta(seconds=lease_seconds)
            continue
        if not _started(migration):
            moved = await _queue_moved_at(session, migration)
            if moved is not None and moved + timedelta(seconds=lease_seconds) > now:
                migration.lease_until = moved + timedelta(seconds=lease_seconds)
                continue
        expired.append(await _lost(session, migration, lease_seconds, max_attempts))
    await session.flush()
    return expired


async def _lost(
    session: AsyncSession, migration: Migration, lease_seconds: float, max_attempts: int
) -> Expired:
    assert migration.id is not None
    attempts = migration.restore_attempts
    if attempts >= max_attempts:  # failed by ``fail_expired``, once its area is cleared
        return Expired(migration.id, failed=True, request=migration.restore_message)
    what = "started by no worker" if not _started(migration) else f"started by {migration.worker}"
    await add_log(
        session,
        migration.id,
        Step.RESTORE,
        f"restore request {attempts} {what} and not reported within {lease_seconds:.0f} s",
        level="warning",
    )
    await _request(session, migration)
    await add_log(
        session,
        migration.id,
        Step.RESTORE,
        f"restore queued again (attempt {migration.restore_attempts} of {max_attempts})",
        level="warning",
    )
    return Expired(migration.id, failed=False)


async def fail_expired(
    session: AsyncSession, expired: Expired, *, lease_seconds: float, lines: list[tuple[str, str]]
) -> bool:
    """The last request's lease ran out too: the migration fails at step restore (unless it
    moved meanwhile: reported, cancelled, or its request started late)."""
    migration = await session.get(Migration, expired.migration_id, with_for_update=True)
    if (
        migration is None
        or migration.state != State.RESTORING.value
        or migration.restore_message != expired.request
        or migration.lease_until is None
        or migration.lease_until >= utcnow()
    ):
        return False
    assert migration.id is not None
    attempts = migration.restore_attempts
    what = "started by no worker" if not _started(migration) else f"started by {migration.worker}"
    await add_log(
        session,
        migration.id,
        Step.RESTORE,
        f"restore request {attempts} {what} and not reported within {lease_seconds:.0f} s",
        level="error",
    )
    for level, message in lines:
        await add_log(session, migration.id, Step.RESTORE, message, level=level)
    migration.lease_until = None
    session.add(migration)
    minutes = max(1, round(lease_seconds / 60))
    await transition(
        session,
        migration,
        State.FAILED,
        cause="restore lease expired",
        reason=f"The restore did not finish: {attempts} attempt(s) were not reported within "
        f"{minutes} min each. The target platform's restore worker may be stopped; once it "
        "runs again, the migration can be retried.",
        reason_fr=f"La restauration n'a pas abouti : {attempts} tentative(s) sans réponse "
        f"en {minutes} min chacune. Le programme qui restaure les cours sur la plateforme "
        "cible est peut-être arrêté ; une fois relancé, la migration pourra être reprise.",
    )
    return True
