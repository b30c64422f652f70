"""Prometheus metrics of enrolment_sync (bounded labels: kind, outcome, action, function)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

RUN_DURATION = Histogram(
    "fusion_enrolment_sync_run_duration_seconds",
    "Wall time of a sync run, by kind and outcome.",
    ["kind", "outcome"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 900, 1800, 3600),
)
ROWS = Counter(
    "fusion_enrolment_sync_rows_total",
    "Rows written to Moodle by a sync, by action (enrol, suspend, unenrol, ...) and outcome.",
    ["action", "outcome"],
)
MOODLE_CALLS = Counter(
    "fusion_enrolment_sync_moodle_calls_total", "Moodle WS calls made by syncs.", ["function"]
)
LAST_SUCCESS = Gauge(
    "fusion_enrolment_sync_last_success_timestamp_seconds",
    "Unix time of the end of the last successful sync run.",
)
LAG = Gauge(
    "fusion_enrolment_sync_lag_seconds", "Seconds since the last successful sync run ended."
)
_last_success = {"at": 0.0}
LAG.set_function(lambda: time.time() - _last_success["at"] if _last_success["at"] else -1.0)


def count_call(function: str, calls: int) -> None:
    if calls:
        MOODLE_CALLS.labels(function).inc(calls)


def count_rows(action: str, *, applied: int, failed: int) -> None:
    ROWS.labels(action, "applied").inc(applied)
    ROWS.labels(action, "failed").inc(failed)


def observe_run(kind: str, outcome: str, seconds: float) -> None:
    RUN_DURATION.labels(kind, outcome).observe(seconds)
    if outcome == "completed":
        _last_success["at"] = time.time()
        LAST_SUCCESS.set(_last_success["at"])
