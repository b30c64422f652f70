from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.migration_orchestrator.migrations.models import MigrationLog


def add_log(
    session: AsyncSession,
    migration_id: int,
    step: str,
    message: str,
    *,
    level: str = "info",
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        MigrationLog(
            migration_id=migration_id,
            step=step,
            level=level,
            message=message[:2000],
            details=details,
        )
    )
