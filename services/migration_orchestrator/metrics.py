"""The orchestrator's metrics: bounded labels only (platform, state, step, outcome)."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlmodel import col

from services.migration_orchestrator.migrations.models import Migration, PlatformSlot
from services.migration_orchestrator.migrations.states import State
from services.migration_orchestrator.services import Orchestrator

log = logging.getLogger(__name__)

MIGRATIONS = Gauge(
    "fusion_migration_orchestrator_migrations",
    "Migrations by state and source platform.",
    ["platform", "state"],
)
QUEUE_DEPTH = Gauge(
    "fusion_migration_orchestrator_backup_queue_depth",
    "Backups queued per source platform, waiting for a slot.",
    ["platform"],
)
RUNNING = Gauge(
    "fusion_migration_orchestrator_backups_running",
    "Backups running now per source platform (slots held).",
    ["platform"],
)


async def refresh(orchestrator: Orchestrator) -> None:
    async with orchestrator.db.session() as session:
        by_state = await session.execute(
            select(col(Migration.source_platform), col(Migration.state), func.count()).group_by(
                col(Migration.source_platform), col(Migration.state)
            )
        )
        running = await session.execute(
            select(col(PlatformSlot.platform), func.count(col(PlatformSlot.migration_id))).group_by(
                col(PlatformSlot.platform)
            )
        )
    counts = {(platform, state): int(n) for platform, state, n in by_state.all()}
    for platform in orchestrator.sources:
        for state in State:
            MIGRATIONS.labels(platform, state.value).set(counts.get((platform, state.value), 0))
        QUEUE_DEPTH.labels(platform).set(counts.get((platform, State.BACKUP_QUEUED.value), 0))
    for platform, held in running.all():
        RUNNING.labels(platform).set(int(held))


async def refresh_loop(orchestrator: Orchestrator, *, every_seconds: float = 15.0) -> None:
    while True:
        try:
            await refresh(orchestrator)
        except Exception:  # a scrape shows the last known values; try again later
            log.exception("refreshing the migration gauges failed")
        await asyncio.sleep(every_seconds)
