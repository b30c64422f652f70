"""Metrics observed where migrations change state (kept apart: lifecycle imports it)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

STEP_SECONDS = Histogram(
    "fusion_migration_orchestrator_state_seconds",
    "Time a migration spent in a state before leaving it.",
    ["state"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600),
)
STOPPED = Counter(
    "fusion_migration_orchestrator_stopped_total",
    "Migrations that failed or were blocked, by step and outcome (failed, blocked).",
    ["step", "outcome"],
)
