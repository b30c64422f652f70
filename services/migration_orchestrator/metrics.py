"""The orchestrator's gauges, read from its database (so every replica reports the same
numbers: aggregate them with ``max``, not ``sum``): migrations by source platform and state.

The queue depth per platform is ``state="backup_queued"``, the running backups
``state="backing_up"``. Refreshed by the lease watcher's loop, so at most one watch interval old.
"""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.migration_orchestrator.migrations.models import Migration
from services.migration_orchestrator.migrations.states import State

MIGRATIONS = Gauge(
    "fusion_migration_orchestrator_migrations",
    "Migrations by source platform and state, as stored (the same on every replica).",
    ["platform", "state"],
)


async def refresh(session: AsyncSession, platforms: set[str]) -> None:
    """Every (platform, state) pair of the configured sources, zero when none is there."""
    rows = await session.execute(
        select(col(Migration.source_platform), col(Migration.state), func.count()).group_by(
            col(Migration.source_platform), col(Migration.state)
        )
    )
    counts = {(platform, state): int(count) for platform, state, count in rows.all()}
    for platform in platforms | {platform for platform, _ in counts}:
        for state in State:
            MIGRATIONS.labels(platform, state.value).set(counts.get((platform, state.value), 0))
