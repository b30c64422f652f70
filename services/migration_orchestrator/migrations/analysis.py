"""Steps between the backup and the restore: the pre-flight of the stored file, then identity's
restore-check of its users. Both say *why* before Moodle's restore would fail without a word.

A migration blocked by identity conflicts and resumed is checked again on the same backup first:
a conflict resolved on the target (its account homogenised) lets that backup through. A conflict
that remains may have been resolved on the *source* platform (an identity plan applied there):
Moodle's restore compares the users.xml of the backup, written before the plan, so that backup
would fail however the accounts are now. The migration then takes a new backup, once; its users
are checked in turn, and a conflict that is still there blocks it again.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import ColumnElement, Table, bindparam, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import FusionError, UpstreamError
from fusion.guarded import Insertion
from services.migration_orchestrator.clients.identity_answers import RestoreCheck
from services.migration_orchestrator.migrations.lifecycle import StateMoved, one_move, transition
from services.migration_orchestrator.migrations.logs import add_log, log_row
from services.migration_orchestrator.migrations.models import (
    BackupAnalysis,
    Migration,
    MigrationTransition,
    utcnow,
)
from services.migration_orchestrator.migrations.queries import with_report
from services.migration_orchestrator.migrations.requests import queue_backup
from services.migration_orchestrator.migrations.restores import queue_restore
from services.migration_orchestrator.migrations.states import State, Step
from services.migration_orchestrator.preflight.analyse import analyse_backup
from services.migration_orchestrator.preflight.archive import ArchiveLimits
from services.migration_orchestrator.preflight.report import BackupReport
from services.migration_orchestrator.services import Orchestrator

_ANALYSIS: Table = BackupAnalysis.__table__  # type: ignore[attr-defined]
_FORGET_ANALYSIS = delete(_ANALYSIS).where(_ANALYSIS.c.migration_id == bindparam("migration_id"))
# The migration, and whether an earlier backup of it has a report (to be replaced).
_ANALYSING = select(
    Migration, exists().where(_ANALYSIS.c.migration_id == col(Migration.id)).label("reported")
).where(col(Migration.id) == bindparam("migration_id"))


def _analyse(path: Path, limits: ArchiveLimits, target_release: str | None) -> BackupReport:
    with path.open("rb") as source:
        return analyse_backup(source, limits=limits, target_release=target_release)


async def analyse_stored(orchestrator: Orchestrator, migration_id: int) -> None:
    """``backed_up``: the pre-flight, then, in the same run, the identity check (the run that
    moved the migration to ``analysed`` goes on with it: see ``driver``). When the backup has
    no blocking finding and its users are clean, the usual case, the migration goes from
    ``backed_up`` through ``analysed`` and ``identity_checked`` to ``restoring`` in one move."""
    async with orchestrator.db.read() as session:
        found = (await session.execute(_ANALYSING, {"migration_id": migration_id})).first()
    migration, reported = (None, False) if found is None else found
    if migration is not None and migration.state == State.ANALYSED:
        await check_identities(orchestrator, migration_id)  # a run that stopped in between
        return
    if migration is None or migration.state != State.BACKED_UP or migration.backup_key is None:
        return
    settings = orchestrator.settings
    try:
        async with orchestrator.store.local_copy(migration.backup_key) as path:
            report = await anyio.to_thread.run_sync(
                _analyse, path, settings.preflight, settings.target_release
            )
    except FusionError as error:  # hostile or broken archive: retrying will not mend it
        await _stop(orchestrator, migration, State.FAILED, error.message, error.message_fr)
        return
    if reported or any(f.severity == "blocking" for f in report.findings):
        if await _analysed(orchestrator, migration, report, replaces=reported):
            await _check(orchestrator, migration, report)
        return
    site_hash = report.moodle.original_site_identifier_hash
    try:
        check = await _restore_check(orchestrator, migration, report, site_hash=site_hash)
    except UpstreamError as error:  # the report is kept: a retry starts from ``analysed``
        if await _analysed(orchestrator, migration, report, replaces=False):
            await _stop(orchestrator, migration, State.FAILED, error.message, error.message_fr)
        return
    if check.conflicts():
        if await _analysed(orchestrator, migration, report, replaces=False):
            await _settle(orchestrator, migration, check)
        return
    rows = [*_analysis_rows(migration, report), _clean_row(migration, check)]
    with suppress(StateMoved):  # cancelled meanwhile, or another run of this step was first
        async with one_move(orchestrator.db, len(rows) + 1) as session:
            await queue_restore(
                session,
                migration,
                rows=rows,
                via=[(State.ANALYSED, "pre-flight"), (State.IDENTITY_CHECKED, "restore-check")],
                changes=_read_from(report),
            )


def _analysis_rows(migration: Migration, report: BackupReport) -> list[Insertion]:
    """The stored report, and a log line for each finding that is not for information."""
    assert migration.id is not None
    rows = [
        Insertion(
            _ANALYSIS,
            {
                "migration_id": migration.id,
                "report": report.model_dump(mode="json"),
                "created_at": utcnow(),
            },
        )
    ]
    rows += [
        log_row(
            migration.id,
            Step.ANALYSE,
            finding.message,
            level=finding.severity,
            details=finding.model_dump(),
            message_fr=finding.message_fr,
        )
        for finding in report.findings
        if finding.severity != "info"
    ]
    return rows


def _read_from(report: BackupReport) -> dict[str, Any]:
    """What the migration keeps of its backup's report."""
    return {
        "source_shortname": report.course.shortname,
        "site_hash": report.moodle.original_site_identifier_hash,
    }


async def _analysed(
    orchestrator: Orchestrator, migration: Migration, report: BackupReport, *, replaces: bool
) -> bool:
    """The report stored (``replaces``: that of an earlier backup) and the migration moved on
    it; whether it is now ``analysed``."""
    assert migration.id is not None
    rows = _analysis_rows(migration, report)
    read = _read_from(report)
    blocking = [f for f in report.findings if f.severity == "blocking"]
    unit = orchestrator.db.unit_of_work() if replaces else one_move(orchestrator.db, len(rows))
    try:
        async with unit as session:
            if replaces:  # a new backup (after a retry or an identity resolution)
                # the move is conditional on ``backed_up``: a stale run undoes nothing
                await session.execute(_FORGET_ANALYSIS, {"migration_id": migration.id})
            if not blocking:
                await transition(
                    session, migration, State.ANALYSED, cause="pre-flight", changes=read, rows=rows
                )
                return True
            blocker = {"kind": "preflight", "findings": [f.code for f in blocking]}
            await transition(
                session,
                migration,
                State.BLOCKED,
                cause="pre-flight",
                reason=" ".join(f.message for f in blocking)[:2000],
                reason_fr=" ".join(f.message_fr for f in blocking)[:2000],
                changes={**read, "blocker": blocker},
                rows=rows,
            )
    except StateMoved:  # cancelled meanwhile, or another run of this step was first
        pass
    return False


async def _stop(
    orchestrator: Orchestrator, migration: Migration, to: State, reason: str, reason_fr: str
) -> None:
    with suppress(StateMoved):
        async with orchestrator.db.unit_of_work() as session:
            await transition(
                session, migration, to, cause="step", reason=reason, reason_fr=reason_fr
            )


async def check_identities(orchestrator: Orchestrator, migration_id: int) -> None:
    """``analysed``, when no run goes on to it from the pre-flight (a resume, a retry)."""
    async with orchestrator.db.read() as session:
        migration, analysis = await with_report(session, migration_id)
    if migration is None or migration.state != State.ANALYSED or analysis is None:
        return
    await _check(orchestrator, migration, BackupReport.model_validate(analysis.report))


async def _restore_check(
    orchestrator: Orchestrator, migration: Migration, report: BackupReport, *, site_hash: str | None
) -> RestoreCheck:
    """identity's restore-check of the backup's users (``UpstreamError`` if it cannot say)."""
    users = report.users.items if report.users.included else []
    return await orchestrator.identity.restore_check(
        platform=orchestrator.settings.target_platform,
        source_platform=migration.source_platform,
        site_hash=site_hash,
        users=users,
    )


def _clean_row(migration: Migration, check: RestoreCheck) -> Insertion:
    assert migration.id is not None
    counts = check.counts.model_dump()
    return log_row(migration.id, Step.IDENTITY, "restore-check clean", details=counts)


async def _check(orchestrator: Orchestrator, migration: Migration, report: BackupReport) -> None:
    """``analysed``: identity's restore-check of the backup's users, then what it says."""
    try:
        check = await _restore_check(orchestrator, migration, report, site_hash=migration.site_hash)
    except UpstreamError as error:
        await _stop(orchestrator, migration, State.FAILED, error.message, error.message_fr)
        return
    await _settle(orchestrator, migration, check)


async def _settle(orchestrator: Orchestrator, migration: Migration, check: RestoreCheck) -> None:
    """``analysed``, checked: the restore queued, a new backup taken, or the migration
    blocked. Every move is conditional on ``analysed``."""
    assert migration.id is not None
    conflicts = check.conflicts()
    # Clean: one move (through identity_checked to restoring, with its log line and the
    # restore.run message). Conflicts: a query first.
    unit = orchestrator.db.unit_of_work() if conflicts else one_move(orchestrator.db, 2)
    with suppress(StateMoved):  # cancelled meanwhile, or another run of this step was first
        async with unit as session:
            if not conflicts:
                checked = [(State.IDENTITY_CHECKED, "restore-check")]
                clean = _clean_row(migration, check)
                await queue_restore(session, migration, rows=[clean], via=checked)
            elif await _backup_predates_resume(session, migration.id):
                await add_log(
                    session,
                    migration.id,
                    Step.IDENTITY,
                    f"{len(conflicts)} conflict(s) remain on a backup taken before the migration "
                    "was resumed: a new backup is taken, with the source platform's current "
                    "accounts",
                    details={"conflicts": [c.username for c in conflicts[:50]]},
                )
                await queue_backup(session, migration, cause="new backup after identity resolution")
            else:
                names = ", ".join(c.username for c in conflicts[:10])
                blocker = {
                    "kind": "identity",
                    "conflicts": [c.model_dump(mode="json") for c in conflicts],
                }
                await transition(
                    session,
                    migration,
                    State.BLOCKED,
                    cause="restore-check",
                    reason=f"{len(conflicts)} user(s) of the backup conflict with accounts of the "
                    f"target ({names}): Moodle would refuse the restore.",
                    reason_fr=f"{len(conflicts)} utilisateur(s) de la sauvegarde entrent en "
                    f"conflit avec des comptes de la plateforme cible ({names}) : Moodle "
                    "refuserait la restauration. Un administrateur doit résoudre ces conflits.",
                    changes={"blocker": blocker},
                )


async def _backup_predates_resume(session: AsyncSession, migration_id: int) -> bool:
    """Was the migration resumed from a block after its current backup was stored?"""

    async def last(*conditions: ColumnElement[bool]) -> int:
        query = select(func.max(MigrationTransition.id)).where(
            col(MigrationTransition.migration_id) == migration_id, *conditions
        )
        return int((await session.execute(query)).scalar() or 0)

    backed_up = await last(col(MigrationTransition.to_state) == State.BACKED_UP.value)
    resumed = await last(
        col(MigrationTransition.from_state) == State.BLOCKED.value,
        col(MigrationTransition.to_state) == State.ANALYSED.value,
    )
    return resumed > backed_up
