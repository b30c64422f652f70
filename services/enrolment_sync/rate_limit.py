"""On-demand runs may not hammer Apogée and Moodle: one per course per interval.

A dry run reads Apogée and Moodle as much as a real one, so previews are limited the same way,
counted apart from real runs (a teacher previews, then syncs for real at once). Every caller
is limited, operators included: the interval is per course, not per person.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.enrolment_sync.errors import CourseSyncTooSoon
from services.enrolment_sync.models import SyncRun, utcnow


async def check_course_rate(
    session: AsyncSession, course_id: int, *, min_seconds: float, dry_run: bool = False
) -> None:
    """Refuse (429, with ``Retry-After``) a run of ``course_id`` that comes too soon after the
    last one of the same kind (preview or real)."""
    if min_seconds <= 0:
        return
    since = utcnow() - timedelta(seconds=min_seconds)
    recent = await session.scalar(
        select(col(SyncRun.started_at))
        .where(
            col(SyncRun.kind) == "course",
            col(SyncRun.course_id) == course_id,
            col(SyncRun.dry_run).is_(dry_run),
            col(SyncRun.started_at) > since,
        )
        .order_by(col(SyncRun.started_at).desc())
        .limit(1)
    )
    if recent is None:
        return
    if recent.tzinfo is None:  # SQLite hands naive datetimes back
        recent = recent.replace(tzinfo=utcnow().tzinfo)
    retry = max(1, int(min_seconds - (utcnow() - recent).total_seconds()) + 1)
    if dry_run:
        raise CourseSyncTooSoon(
            f"Course {course_id} was previewed moments ago; try again in {retry} s.",
            message_fr=f"Le cours {course_id} vient d'être prévisualisé ; réessayez dans "
            f"{retry} s.",
            details={"retry_after_seconds": retry, "dry_run": True},
        )
    raise CourseSyncTooSoon(
        f"Course {course_id} was synchronised moments ago; try again in {retry} s.",
        message_fr=f"Le cours {course_id} vient d'être synchronisé ; réessayez dans {retry} s.",
        details={"retry_after_seconds": retry, "dry_run": False},
    )
