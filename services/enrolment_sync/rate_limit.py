"""A teacher's "sync now" button may not hammer Moodle: one on-demand run per course per
interval."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.enrolment_sync.errors import CourseSyncTooSoon
from services.enrolment_sync.models import SyncRun, utcnow


async def check_course_rate(session: AsyncSession, course_id: int, *, min_seconds: float) -> None:
    since = utcnow() - timedelta(seconds=min_seconds)
    recent = await session.scalar(
        select(col(SyncRun.started_at))
        .where(
            col(SyncRun.kind) == "course",
            col(SyncRun.course_id) == course_id,
            col(SyncRun.dry_run).is_(False),
            col(SyncRun.started_at) > since,
        )
        .order_by(col(SyncRun.started_at).desc())
        .limit(1)
    )
    if recent is not None:
        retry = max(1, int(min_seconds - (utcnow() - recent).total_seconds()))
        raise CourseSyncTooSoon(
            f"Course {course_id} was synchronised moments ago; try again in {retry} s.",
            message_fr=f"Le cours {course_id} vient d'être synchronisé ; réessayez dans {retry} s.",
            details={"retry_after_seconds": retry},
        )
