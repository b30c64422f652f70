"""What the API lists: runs by status, per-course results (of a run, of a course), the
courses of methods."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.enrolment_sync.lifecycle import RunStatus
from services.enrolment_sync.models import EnrolmentMethod, RunCourse, SyncRun


async def list_runs(
    session: AsyncSession, *, status: RunStatus | None, limit: int, offset: int
) -> Sequence[SyncRun]:
    query = select(SyncRun).order_by(col(SyncRun.id).desc())
    if status is not None:
        query = query.where(col(SyncRun.status) == status)
    return (await session.execute(query.limit(limit).offset(offset))).scalars().all()


async def method_course_ids(session: AsyncSession) -> set[int]:
    rows = await session.execute(select(col(EnrolmentMethod.course_id)).distinct())
    return set(rows.scalars())


async def run_course_ids(session: AsyncSession, run_id: int) -> set[int]:
    rows = await session.execute(
        select(col(RunCourse.course_id)).where(col(RunCourse.run_id) == run_id)
    )
    return set(rows.scalars())


async def run_courses(
    session: AsyncSession,
    run_id: int,
    *,
    limit: int,
    offset: int,
    only: Collection[int] | None = None,
) -> tuple[Sequence[RunCourse], int]:
    """One page of a run's per-course results (``only``: these courses), and how many in all."""
    where = [col(RunCourse.run_id) == run_id]
    if only is not None:
        where.append(col(RunCourse.course_id).in_(sorted(only)))
    total = await session.scalar(select(func.count()).select_from(RunCourse).where(*where))
    rows = await session.execute(
        select(RunCourse)
        .where(*where)
        .order_by(col(RunCourse.course_id))
        .limit(limit)
        .offset(offset)
    )
    return rows.scalars().all(), int(total or 0)


async def course_results(
    session: AsyncSession, course_id: int, *, limit: int
) -> Sequence[tuple[RunCourse, SyncRun]]:
    """The latest real (not dry) runs' results in one course, newest first."""
    query = (
        select(RunCourse, SyncRun)
        .join(SyncRun, col(SyncRun.id) == col(RunCourse.run_id))
        .where(col(RunCourse.course_id) == course_id, col(SyncRun.dry_run).is_(False))
        .order_by(col(SyncRun.id).desc())
        .limit(limit)
    )
    return [(result, run) for result, run in (await session.execute(query)).all()]
