"""On-demand runs may not hammer Apogée and Moodle: one per course per interval.

A dry run reads Apogée and Moodle as much as a real one, so previews are limited the same way,
counted apart from real runs (a teacher previews, then syncs for real at once). Every caller
is limited, operators included: the interval is per course, not per person.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.enrolment_sync.errors import CourseSyncTooSoon
from services.enrolment_sync.models import SyncRun, utcnow


class CourseGate:
    """The on-demand runs this process accepted lately, by (course, dry run).

    The database check alone lets a burst of simultaneous requests through (none of them sees
    the others' uncommitted runs); this check and claim run without yielding to the event loop,
    so within one process the burst gets one run. The database check covers the other
    replicas and restarts.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[tuple[int, bool], float] = {}

    def claim(self, course_id: int, *, dry_run: bool, min_seconds: float) -> float | None:
        """None when the run may go (and is now counted); else the seconds left to wait."""
        now = self._clock()
        last = self._last.get((course_id, dry_run))
        if last is not None and now - last < min_seconds:
            return min_seconds - (now - last)
        if len(self._last) >= _MAX_REMEMBERED:
            self._last = {k: t for k, t in self._last.items() if now - t < min_seconds}
        self._last[(course_id, dry_run)] = now
        return None


_MAX_REMEMBERED = 10_000


async def check_course_rate(
    session: AsyncSession,
    course_id: int,
    *,
    min_seconds: float,
    dry_run: bool = False,
    gate: CourseGate | None = None,
) -> None:
    """Refuse (429, with ``Retry-After``) a run of ``course_id`` that comes too soon after the
    last one of the same kind (preview or real)."""
    if min_seconds <= 0:
        return
    if gate is not None:
        left = gate.claim(course_id, dry_run=dry_run, min_seconds=min_seconds)
        if left is not None:
            _too_soon(course_id, dry_run=dry_run, retry=max(1, int(left) + 1))
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
    _too_soon(
        course_id,
        dry_run=dry_run,
        retry=max(1, int(min_seconds - (utcnow() - recent).total_seconds()) + 1),
    )


def _too_soon(course_id: int, *, dry_run: bool, retry: int) -> NoReturn:
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
