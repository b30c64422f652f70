"""The per-course errors of a sync run as CSV, one line per error (like Canvas's SIS import
error report), so that support can sort and hand them on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from services.migration_orchestrator.pages.schemas import RunCourse

COLUMNS = (
    "run_id",
    "course_id",
    "status",
    "kind",
    "code",
    "cod_etu",
    "userid",
    "errorcode",
    "message",
    "reason_fr",
    "reason",
)


def error_rows(run_id: int, courses: Iterable[RunCourse]) -> Iterable[dict[str, object]]:
    for course in courses:
        base = {
            "run_id": run_id,
            "course_id": course.course_id,
            "status": course.status,
            "reason_fr": course.reason_fr or "",
            "reason": course.reason or "",
        }
        if not course.errors and course.status in ("failed", "blocked"):
            yield base
        for error in course.errors:
            yield {**base, **{k: error.get(k, "") for k in COLUMNS if k in error}}


def errors_csv(run_id: int, courses: Iterable[RunCourse]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", extrasaction="ignore")
    writer.writeheader()
    for row in error_rows(run_id, courses):
        writer.writerow({key: _safe(value) for key, value in row.items()})
    return out.getvalue()


def _safe(value: object) -> object:
    # A cell starting with = + - @ is a formula to a spreadsheet: never let one run.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else value
