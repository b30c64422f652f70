"""Executing a run: planned (or previewed), applied batch by batch, finished or resumed.

Its statuses and the moves between them are in ``lifecycle.py``; every move goes through the
lifecycle, in the same transaction as the change it records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.apogee import ApogeeClient
from fusion.contracts import SyncCompleted
from fusion.db import Database
from fusion.errors import FusionError
from fusion.moodle.client import MoodleClient
from fusion.moodle.errors import MoodleUnavailable
from fusion.unit_of_work import UnitOfWork
from services.enrolment_sync import ledger, metrics
from services.enrolment_sync.apply import Progress, apply_run
from services.enrolment_sync.errors import RunNotFound, RunNotResumable
from services.enrolment_sync.leases import claim
from services.enrolment_sync.lifecycle import RESUMABLE, RUN_LIFECYCLE, RunStatus
from services.enrolment_sync.meta import ancestors
from services.enrolment_sync.models import EnrolmentMethod, RunBatch, RunCourse, SyncRun, utcnow
from services.enrolment_sync.plan import Plan, load_graph, plan_run
from services.enrolment_sync.reasons import CourseReport
from services.enrolment_sync.settings import Settings

UnitsOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
__all__ = ["Progress", "check_resumable", "create_run", "execute_run", "get_run"]

_COUNTED = (
    "adds",
    "reactivations",
    "removals",
    "group_adds",
    "group_removals",
    "groups_created",
    "failed",
    "missing_users",
)


async def create_run(
    uow: UnitOfWork,
    *,
    kind: str,
    trigger: str,
    course_id: int | None = None,
    dry_run: bool = False,
    forced: bool = False,
    verify: bool = False,
    slot: str | None = None,
    public_id: UUID | None = None,
    scope: list[int] | None = None,
) -> SyncRun:
    run = SyncRun(
        kind=kind,
        trigger=trigger,
        course_id=course_id,
        dry_run=dry_run,
        forced=forced,
        verify=verify,
        slot=slot,
        scope=scope,
    )
    if public_id is not None:
        run.public_id = public_id
    uow.session.add(run)
    await uow.session.flush()
    await RUN_LIFECYCLE.enter(uow, run, cause=f"created ({trigger})")
    return run


async def get_run(session: AsyncSession, run_id: int) -> SyncRun:
    run = await session.get(SyncRun, run_id)
    if run is None:
        raise RunNotFound(
            f"No sync run {run_id}.", message_fr=f"Aucune synchronisation n°{run_id}."
        )
    return run


async def execute_run(
    run_id: int,
    *,
    db: Database,
    units: UnitsOfWork,
    apogee: ApogeeClient,
    moodle: MoodleClient,
    settings: Settings,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
) -> SyncRun:
    """Plan the run if it is new, then apply what is pending; also the way to resume one."""
    started = time.perf_counter()
    calls_before = moodle.calls.total()  # every real call, reads included (issue 16, item 5)
    earlier = 0  # a resumed run: the calls of the process that planned it, counted there
    applying_since = 0.0  # set once batches are being sent
    await claim(db, run_id, seconds=settings.run_lease_seconds)
    try:
        async with units() as uow:
            run = await get_run(uow.session, run_id)
            if run.status != RunStatus.PLANNING:
                earlier = int(run.counts.get("moodle_calls", 0))
            if run.status == RunStatus.PLANNING:
                plan = await plan_run(
                    run, session=uow.session, apogee=apogee, moodle=moodle, settings=settings
                )
                await _store_plan(uow, run, plan)
                run.counts["planning_ms"] = _ms_since(started)
                run.counts["moodle_calls"] = moodle.calls.total() - calls_before
            elif run.status in RESUMABLE:
                await RUN_LIFECYCLE.transition(uow, run, RunStatus.APPLYING, cause="resumed")
        if run.status == RunStatus.APPLYING:
            applying = applying_since = time.perf_counter()
            peak = await apply_run(
                run_id,
                db=db,
                moodle=moodle,
                concurrency=settings.moodle_concurrency,
                lease_seconds=settings.run_lease_seconds,
                should_stop=should_stop,
                progress=progress,
            )
            final = RunStatus.STOPPED if should_stop() else RunStatus.COMPLETED
            extra = {"peak_concurrency": peak, "applying_ms": _ms_since(applying)}
            calls = earlier + moodle.calls.total() - calls_before
            await _finish(units, run_id, final, extra=extra, calls=calls)
    except MoodleUnavailable as error:
        if not applying_since:
            calls = earlier + moodle.calls.total() - calls_before
            await _finish(units, run_id, RunStatus.FAILED, error=error.message, calls=calls)
        else:
            # Moodle went silent mid-apply (down, timing out, answering 5xx) after the client's
            # own retries of the calls that are safe to repeat: the batch in doubt stays pending,
            # and the lease watcher resumes the run, which sends it again (enrolments and group
            # members are idempotent; a group created without an answer is adopted by idnumber).
            await _attempt_failed(units, run_id, error)
    except FusionError as error:
        calls = earlier + moodle.calls.total() - calls_before
        await _finish(units, run_id, RunStatus.FAILED, error=error.message, calls=calls)
    except Exception as error:
        await _attempt_failed(units, run_id, error)
        raise
    async with db.session() as session:
        run = await get_run(session, run_id)
    metrics.observe_run(run.kind, run.status, time.perf_counter() - started)
    return run


async def _attempt_failed(units: UnitsOfWork, run_id: int, error: Exception) -> None:
    """A crash Fusion does not know: release the run for a retry, or fail it at the last one."""
    reason = f"{type(error).__name__}: {error}"[:300]
    async with units() as uow:
        run = await get_run(uow.session, run_id)
        run.lease_owner, run.lease_until = None, None
        gave_up = await RUN_LIFECYCLE.attempt_failed(uow, run, cause=reason)
        # Each failed attempt is shown with the run, not only the last one's reason.
        attempt = {"kind": "attempt_failed", "attempt": run.attempts, "cause": reason}
        run.warnings = [*run.warnings, attempt][-20:]
        if gave_up is not None:
            run.error, run.finished_at = gave_up, utcnow()
            await _publish_completed(uow, run)


def check_resumable(run: SyncRun) -> None:
    if RunStatus(run.status) not in RESUMABLE:
        raise RunNotResumable(
            f"Run {run.id} is {run.status}; only stopped or failed runs resume.",
            message_fr=f"La synchronisation n°{run.id} est « {run.status} » : seules les "
            "synchronisations arrêtées ou en échec reprennent.",
        )


async def _store_plan(uow: UnitOfWork, run: SyncRun, plan: Plan) -> None:
    session = uow.session
    reports = [r for r in plan.courses.values() if r.status != "unchanged" or r.errors]
    if reports:
        await session.execute(insert(RunCourse), [_course_row(run, r) for r in reports])
    if plan.batches and not run.dry_run:
        await session.execute(
            insert(RunBatch),
            [
                {
                    "run_id": run.id,
                    "seq": seq,
                    "phase": int(b.phase),
                    "kind": b.kind,
                    "rows": b.rows,
                }
                for seq, b in enumerate(plan.batches)
            ],
        )
    run.batches_planned = 0 if run.dry_run else len(plan.batches)
    run.warnings = plan.warnings
    # A course run reads only some of a code's courses: its ETags must not hide the others.
    if run.kind != "course":
        run.etags = {f"{code}\t{year}": etag for (code, year), etag in plan.etags.items()}
    unchanged = len(plan.affected) - len(reports)
    run.counts = {
        "courses": len(plan.affected),
        "courses_unchanged": unchanged,
        "existing_left_alone": plan.left_alone,
    }
    if run.dry_run:
        run.finished_at = utcnow()
        run.counts.update(_sum_reports(reports))
        await RUN_LIFECYCLE.transition(uow, run, RunStatus.PREVIEWED, cause="previewed")
    else:
        await RUN_LIFECYCLE.transition(uow, run, RunStatus.APPLYING, cause="planned")


def _course_row(run: SyncRun, report: CourseReport) -> dict[str, Any]:
    row = {name: getattr(report, name) for name in (*_COUNTED, "status", "reason", "reason_fr")}
    return {**row, "errors": report.errors, "run_id": run.id, "course_id": report.course_id}


async def _publish_completed(uow: UnitOfWork, run: SyncRun) -> None:
    await uow.publish(_completed_event(run))


def _completed_event(run: SyncRun) -> SyncCompleted:
    counts = run.counts
    troubled = counts.get("failed", 0) or counts.get("courses_blocked", 0)
    outcome = "failed" if run.status == "failed" else "partial" if troubled else "succeeded"
    return SyncCompleted(
        run_id=run.public_id,
        mode=run.kind,
        outcome=outcome,
        enrolled=counts.get("adds", 0) + counts.get("reactivations", 0),
        suspended=counts.get("removals", 0),
        groups_changed=counts.get("group_adds", 0) + counts.get("group_removals", 0),
    )


def _ms_since(started: float) -> int:
    return int(1000 * (time.perf_counter() - started))


def _sum_reports(reports: list[Any]) -> dict[str, int]:
    totals = {name: sum(getattr(r, name) for r in reports) for name in _COUNTED}
    totals["courses_blocked"] = sum(1 for r in reports if r.status == "blocked")
    # A run that completes with some courses failed (Moodle refused rows, or has no such
    # course) is ``completed`` with these counts, and its sync.completed event says "partial".
    totals["courses_failed"] = sum(1 for r in reports if r.status == "failed")
    return totals


async def _finish(
    units: UnitsOfWork,
    run_id: int,
    status: RunStatus,
    *,
    error: str | None = None,
    extra: dict[str, int] | None = None,
    calls: int = 0,
) -> None:
    """``calls``: every Moodle call made for the run (reads too), from ``execute_run``."""
    async with units() as uow:
        session = uow.session
        run = await get_run(session, run_id)
        reports = list(
            (
                await session.execute(select(RunCourse).where(col(RunCourse.run_id) == run_id))
            ).scalars()
        )
        writes = await session.scalar(
            select(func.coalesce(func.sum(col(RunBatch.calls)), 0)).where(
                col(RunBatch.run_id) == run_id
            )
        )
        run.counts = {
            **run.counts,
            **_sum_reports(reports),
            "moodle_calls": calls,
            "moodle_write_calls": int(writes or 0),
            **(extra or {}),
        }
        run.error, run.finished_at = error, utcnow()
        run.lease_owner, run.lease_until = None, None
        await RUN_LIFECYCLE.transition(uow, run, status, cause=error or str(status))
        if status == RunStatus.COMPLETED:
            for report in reports:  # every batch landed: what was planned is now done
                if report.status == "planned":
                    report.status = "applied"
            await _remember_success(session, run, reports)
            # The rows of applied batches only served a resume: the ledger and the per-course
            # results keep what happened.
            await session.execute(delete(RunBatch).where(col(RunBatch.run_id) == run_id))
        if status in (RunStatus.COMPLETED, RunStatus.FAILED):
            await _publish_completed(uow, run)


async def _remember_success(session: AsyncSession, run: SyncRun, reports: list[RunCourse]) -> None:
    """Keep the ETags and clean flags of what fully landed; the rest is redone next time."""
    tainted = {r.course_id for r in reports if r.status in ("blocked", "failed")}
    held_back = ancestors(await load_graph(session), tainted)
    methods = (
        await session.execute(
            select(
                col(EnrolmentMethod.course_id),
                col(EnrolmentMethod.code),
                col(EnrolmentMethod.year_key),
            )
        )
    ).all()
    tainted_keys = {(code, year) for course, code, year in methods if course in held_back}
    etags = {}
    for key, etag in run.etags.items():
        code, _, year = key.partition("\t")
        if (code, int(year)) not in tainted_keys:
            etags[(code, int(year))] = etag
    await ledger.save_etags(session, etags)
    synced = {r.course_id for r in reports} | {course for course, _, _ in methods}
    if run.kind == "course":
        synced = {r.course_id for r in reports} | {run.course_id or 0}
    await ledger.mark_clean(session, synced - tainted, at=utcnow())
