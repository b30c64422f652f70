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

from pathlib import Path

import anyio.to_thread
from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import FusionError, UpstreamError
from services.migration_orchestrator.migrations.lifecycle import transition
from services.migration_orchestrator.migrations.logs import add_log
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


def _analyse(path: Path, limits: ArchiveLimits, target_release: str | None) -> BackupReport:
    with path.open("rb") as source:
        return analyse_backup(source, limits=limits, target_release=target_release)


async def analyse_stored(orchestrator: Orchestrator, migration_id: int) -> None:
    async with orchestrator.db.read() as session:
        migration = await session.get(Migration, migration_id)
    if migration is None or migration.state != State.BACKED_UP or migration.backup_key is None:
        return
    settings = orchestrator.settings
    try:
        async with orchestrator.store.local_copy(migration.backup_key) as path:
            report = await anyio.to_thread.run_sync(
                _analyse, path, settings.preflight, settings.target_release
            )
    except FusionError as error:  # hostile or broken archive: retrying will not mend it
        await _stop(orchestrator, migration_id, State.FAILED, error.message, error.message_fr)
        return
    await _analysed(orchestrator, migration_id, report)


async def _analysed(orchestrator: Orchestrator, migration_id: int, report: BackupReport) -> None:
    async with orchestrator.db.unit_of_work() as session:
        migration = await session.get(Migration, migration_id, with_for_update=True)
        if migration is None or migration.state != State.BACKED_UP:
            return
        # A new backup (after a retry or an identity resolution) replaces the previous report.
        await session.execute(
            delete(BackupAnalysis).where(col(BackupAnalysis.migration_id) == migration_id)
        )
        await session.execute(
            insert(BackupAnalysis).values(
                migration_id=migration_id,
                report=report.model_dump(mode="json"),
                created_at=utcnow(),
            )
        )
        read = {
            "source_shortname": report.course.shortname,
            "site_hash": report.moodle.original_site_identifier_hash,
        }
        for finding in report.findings:
            if finding.severity != "info":
                await add_log(
                    session,
                    migration_id,
                    Step.ANALYSE,
                    finding.message,
                    level=finding.severity,
                    details=finding.model_dump(),
                    message_fr=finding.message_fr,
                )
        blocking = [f for f in report.findings if f.severity == "blocking"]
        if not blocking:
            await transition(session, migration, State.ANALYSED, cause="pre-flight", changes=read)
            return
        blocker = {"kind": "preflight", "findings": [f.code for f in blocking]}
        await transition(
            session,
            migration,
            State.BLOCKED,
            cause="pre-flight",
            reason=" ".join(f.message for f in blocking)[:2000],
            reason_fr=" ".join(f.message_fr for f in blocking)[:2000],
            changes={**read, "blocker": blocker},
        )


async def _stop(
    orchestrator: Orchestrator, migration_id: int, to: State, reason: str, reason_fr: str
) -> None:
    async with orchestrator.db.unit_of_work() as session:
        migration = await session.get(Migration, migration_id, with_for_update=True)
        if migration is None or State(migration.state) not in (State.BACKED_UP, State.ANALYSED):
            return
        await transition(session, migration, to, cause="step", reason=reason, reason_fr=reason_fr)


async def check_identities(orchestrator: Orchestrator, migration_id: int) -> None:
    async with orchestrator.db.read() as session:
        migration, analysis = await with_report(session, migration_id)
    if migration is None or migration.state != State.ANALYSED or analysis is None:
        return
    report = BackupReport.model_validate(analysis.report)
    users = report.users.items if report.users.included else []
    try:
        check = await orchestrator.identity.restore_check(
            platform=orchestrator.settings.target_platform,
            source_platform=migration.source_platform,
            site_hash=migration.site_hash,
            users=users,
        )
    except UpstreamError as error:
        await _stop(orchestrator, migration_id, State.FAILED, error.message, error.message_fr)
        return
    conflicts = check.conflicts()
    async with orchestrator.db.unit_of_work() as session:
        migration = await session.get(Migration, migration_id, with_for_update=True)
        if migration is None or migration.state != State.ANALYSED:
            return
        if conflicts and await _backup_predates_resume(session, migration_id):
            await add_log(
                session,
                migration_id,
                Step.IDENTITY,
                f"{len(conflicts)} conflict(s) remain on a backup taken before the migration was "
                "resumed: a new backup is taken, with the source platform's current accounts",
                details={"conflicts": [c.username for c in conflicts[:50]]},
            )
            await queue_backup(session, migration, cause="new backup after identity resolution")
            return
        if conflicts:
            migration.blocker = {
                "kind": "identity",
                "conflicts": [c.model_dump(mode="json") for c in conflicts],
            }
            names = ", ".join(c.username for c in conflicts[:10])
            await transition(
                session,
                migration,
                State.BLOCKED,
                cause="restore-check",
                reason=f"{len(conflicts)} user(s) of the backup conflict with accounts of the "
                f"target ({names}): Moodle would refuse the restore.",
                reason_fr=f"{len(conflicts)} utilisateur(s) de la sauvegarde entrent en conflit "
                f"avec des comptes de la plateforme cible ({names}) : Moodle refuserait la "
                "restauration. Un administrateur doit résoudre ces conflits.",
            )
            return
        counts = check.counts.model_dump()
        await add_log(session, migration_id, Step.IDENTITY, "restore-check clean", details=counts)
        await transition(session, migration, State.IDENTITY_CHECKED, cause="restore-check")
        await queue_restore(session, migration)


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
