"""Applying a run's batches through the Moodle client, recording each one as it lands.

Each batch is one WS call (sized at planning); the client bisects an all-or-nothing call that a
bad row makes fail, so the good rows still land. The ledger rows of a batch and its ``applied``
mark are committed together: a stopped run resumes with the batches still pending, and never
sends an applied one again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from fusion.db import Database
from fusion.moodle.client import MoodleClient
from fusion.moodle.rows import GroupMember, ManualEnrolment, ManualUnenrolment, NewGroup
from services.enrolment_sync import ledger, metrics
from services.enrolment_sync.batches import Phase, Row, run_disjoint, users_of
from services.enrolment_sync.leases import lease_expiry
from services.enrolment_sync.models import RunBatch, RunCourse, SyncRun
from services.enrolment_sync.reasons import MAX_LISTED

Progress = Callable[[int, int], None]


@dataclass
class Outcome:
    applied: list[Row] = field(default_factory=list)
    failed: list[tuple[Row, str, str]] = field(default_factory=list)  # row, errorcode, message
    calls: int = 0


@dataclass(frozen=True)
class PendingBatch:
    id: int
    phase: int
    kind: str
    rows: list[Row]


async def apply_run(
    run_id: int,
    *,
    db: Database,
    moodle: MoodleClient,
    concurrency: int,
    lease_seconds: float,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
) -> int:
    """Send every pending batch of the run, phase by phase; returns the peak parallelism."""
    async with db.session() as session:
        rows = await session.execute(
            select(col(RunBatch.id), col(RunBatch.phase), col(RunBatch.kind), col(RunBatch.rows))
            .where(col(RunBatch.run_id) == run_id, col(RunBatch.status) == "pending")
            .order_by(col(RunBatch.phase), col(RunBatch.seq))
        )
        pending = [PendingBatch(*row) for row in rows.all()]
        total = (
            await session.scalar(
                select(col(SyncRun.batches_planned)).where(col(SyncRun.id) == run_id)
            )
            or 0
        )
    done = total - len(pending)
    peak = 0

    def worker(groups: Mapping[tuple[int, str], int]) -> Callable[[PendingBatch], Awaitable[None]]:
        async def work(batch: PendingBatch) -> None:
            nonlocal done
            outcome = await send_batch(batch.kind, batch.rows, moodle=moodle, groups=groups)
            await record_batch(run_id, batch, outcome, db=db, lease_seconds=lease_seconds)
            done += 1
            if progress is not None:
                progress(done, total)

        return work

    for phase in sorted({batch.phase for batch in pending}):
        if should_stop():
            break
        groups = await _group_ids(db, pending) if phase >= Phase.ADD_MEMBERS else {}
        peak = max(
            peak,
            await run_disjoint(
                [batch for batch in pending if batch.phase == phase],
                users=lambda batch: users_of(batch.rows),
                work=worker(groups),
                concurrency=concurrency,
                should_stop=should_stop,
            ),
        )
    return peak


async def _group_ids(db: Database, pending: Sequence[PendingBatch]) -> dict[tuple[int, str], int]:
    courses = {row["courseid"] for batch in pending for row in batch.rows}
    async with db.session() as session:
        return await ledger.load_groups(session, courses)


async def send_batch(
    kind: str, rows: list[Row], *, moodle: MoodleClient, groups: Mapping[tuple[int, str], int]
) -> Outcome:
    if kind in ("enrol", "suspend"):
        return await _enrol(rows, moodle=moodle)
    if kind == "unenrol":
        return await _unenrol(rows, moodle=moodle)
    if kind == "create_groups":
        return await _create_groups(rows, moodle=moodle)
    if kind in ("add_members", "delete_members"):
        return await _members(kind, rows, moodle=moodle, groups=groups)
    return Outcome(applied=list(rows))  # "forget": the keep policy writes nothing to Moodle


async def _enrol(rows: list[Row], *, moodle: MoodleClient) -> Outcome:
    by_key = {(r["courseid"], r["userid"]): r for r in rows}
    sent = [
        ManualEnrolment(
            roleid=r["roleid"],
            userid=r["userid"],
            courseid=r["courseid"],
            suspend=None if "suspend" not in r else bool(r["suspend"]),
        )
        for r in rows
    ]
    result = await moodle.enrol_users(sent)
    metrics.count_call("enrol_manual_enrol_users", result.calls)
    return Outcome(
        applied=[by_key[(e.courseid, e.userid)] for e in result.applied],
        failed=[
            (by_key[(e.courseid, e.userid)], err.errorcode, err.message) for e, err in result.failed
        ],
        calls=result.calls,
    )


async def _unenrol(rows: list[Row], *, moodle: MoodleClient) -> Outcome:
    by_key = {(r["courseid"], r["userid"]): r for r in rows}
    result = await moodle.unenrol_users(
        [ManualUnenrolment(userid=r["userid"], courseid=r["courseid"]) for r in rows]
    )
    metrics.count_call("enrol_manual_unenrol_users", result.calls)
    return Outcome(
        applied=[by_key[(e.courseid, e.userid)] for e in result.applied],
        failed=[
            (by_key[(e.courseid, e.userid)], err.errorcode, err.message) for e, err in result.failed
        ],
        calls=result.calls,
    )


async def _create_groups(rows: list[Row], *, moodle: MoodleClient) -> Outcome:
    by_key = {(r["courseid"], r["idnumber"]): r for r in rows}
    result = await moodle.create_groups([NewGroup(**r) for r in rows])
    metrics.count_call("core_group_create_groups", result.calls)
    outcome = Outcome(calls=result.calls)
    for group, answer in zip(result.applied, result.returned, strict=True):
        outcome.applied.append({**by_key[(group.courseid, group.idnumber)], "id": answer["id"]})
    for group, error in result.failed:
        # The group may already exist (made by hand, or by a run that stopped before recording
        # it): adopt it by idnumber rather than fail.
        existing = await moodle.get_course_groups(group.courseid)
        outcome.calls += 1
        match = next((g for g in existing if g.get("idnumber") == group.idnumber), None)
        row = by_key[(group.courseid, group.idnumber)]
        if match is None:
            outcome.failed.append((row, error.errorcode, error.message))
        else:
            outcome.applied.append({**row, "id": int(match["id"])})
    return outcome


async def _members(
    kind: str, rows: list[Row], *, moodle: MoodleClient, groups: Mapping[tuple[int, str], int]
) -> Outcome:
    outcome = Outcome()
    sent: dict[GroupMember, Row] = {}
    for row in rows:
        group = groups.get((row["courseid"], row["idnumber"]))
        if group is None:
            outcome.failed.append((row, "nogroup", "the Moodle group could not be created"))
        else:
            sent[GroupMember(groupid=group, userid=row["userid"])] = row
    if not sent:
        return outcome
    if kind == "add_members":
        result = await moodle.add_group_members(list(sent))
        metrics.count_call("core_group_add_group_members", result.calls)
    else:
        result = await moodle.delete_group_members(list(sent))
        metrics.count_call("core_group_delete_group_members", result.calls)
    outcome.calls = result.calls
    outcome.applied = [sent[member] for member in result.applied]
    outcome.failed += [(sent[m], err.errorcode, err.message) for m, err in result.failed]
    return outcome


async def record_batch(
    run_id: int, batch: PendingBatch, outcome: Outcome, *, db: Database, lease_seconds: float
) -> None:
    async with db.unit_of_work() as session:
        await _record_ledger(session, batch.kind, outcome.applied, run_id=run_id)
        await session.execute(
            update(RunBatch)
            .where(col(RunBatch.id) == batch.id)
            .values(
                status="applied",
                calls=outcome.calls,
                failed_rows=len(outcome.failed),
            )
        )
        await session.execute(
            update(SyncRun)
            .where(col(SyncRun.id) == run_id)
            .values(
                batches_applied=col(SyncRun.batches_applied) + 1,
                lease_until=lease_expiry(lease_seconds),
            )
        )
        await _record_failures(session, run_id, batch.kind, outcome.failed)
    metrics.count_rows(batch.kind, applied=len(outcome.applied), failed=len(outcome.failed))


async def _record_ledger(session: Any, kind: str, rows: list[Row], *, run_id: int) -> None:
    pairs = [(r["courseid"], r["userid"]) for r in rows if "userid" in r]
    if kind == "enrol":
        triples = [(r["courseid"], r["userid"], r["roleid"]) for r in rows]
        await ledger.record_enrolled(session, triples, run_id=run_id)
    elif kind == "suspend":
        await ledger.record_suspended(session, pairs)
    elif kind in ("unenrol", "forget"):
        await ledger.forget_enrolments(session, pairs)
    elif kind == "create_groups":
        await ledger.record_groups(session, {(r["courseid"], r["idnumber"]): r["id"] for r in rows})
    elif kind == "add_members":
        await ledger.record_members(
            session, [(r["courseid"], r["idnumber"], r["userid"]) for r in rows]
        )
    elif kind == "delete_members":
        await ledger.forget_members(
            session, [(r["courseid"], r["idnumber"], r["userid"]) for r in rows]
        )


async def _record_failures(
    session: Any, run_id: int, kind: str, failed: list[tuple[Row, str, str]]
) -> None:
    by_course: dict[int, list[dict[str, Any]]] = {}
    for row, errorcode, message in failed:
        entry = {
            "kind": kind,
            "userid": row.get("userid"),
            "errorcode": errorcode,
            "message": message[:300],
        }
        by_course.setdefault(row["courseid"], []).append(entry)
    for course, errors in by_course.items():
        report = await session.get(RunCourse, (run_id, course))
        if report is None:
            continue
        report.failed += len(errors)
        report.errors = [*report.errors, *errors][: 2 * MAX_LISTED]
        report.status = "failed"
