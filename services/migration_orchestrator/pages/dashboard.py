"""The support dashboard's figures, read from the orchestrator's own tables: migrations by state
and platform, queue depth, throughput per day, durations, failures and flagged backups."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.web.i18n import Translator
from services.migration_orchestrator.migrations import queries
from services.migration_orchestrator.migrations.models import Migration, MigrationLog
from services.migration_orchestrator.migrations.schemas import MigrationPublic
from services.migration_orchestrator.migrations.states import State, Step

DAYS = 14
LISTED = 50


@dataclass
class Flagged:
    migration: MigrationPublic
    findings: list[MigrationLog]


@dataclass
class Dashboard:
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # platform → state → n
    per_day: list[tuple[date, int]] = field(default_factory=list)
    p50_seconds: float | None = None
    p95_seconds: float | None = None
    failures: list[MigrationPublic] = field(default_factory=list)
    reasons: list[tuple[str, int]] = field(default_factory=list)
    blocked: list[MigrationPublic] = field(default_factory=list)
    flagged: list[Flagged] = field(default_factory=list)

    def total(self, state: str) -> int:
        return sum(by_state[state] for by_state in self.counts.values())


async def _counts(session: AsyncSession) -> dict[str, Counter[str]]:
    rows = await session.execute(
        select(col(Migration.source_platform), col(Migration.state), func.count()).group_by(
            col(Migration.source_platform), col(Migration.state)
        )
    )
    counts: dict[str, Counter[str]] = {}
    for platform, state, n in rows.all():
        counts.setdefault(platform, Counter())[state] = int(n)
    return counts


async def _done(session: AsyncSession, since: datetime) -> list[Migration]:
    rows = await session.execute(
        select(Migration).where(
            col(Migration.state) == State.DONE, col(Migration.updated_at) >= since
        )
    )
    return list(rows.scalars())


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def _stopped(session: AsyncSession, state: State) -> list[MigrationPublic]:
    rows = await session.execute(
        select(Migration)
        .where(col(Migration.state) == state)
        .order_by(col(Migration.updated_at).desc())
        .limit(LISTED)
    )
    return [queries.public(m) for m in rows.scalars()]


async def _flagged(session: AsyncSession) -> list[Flagged]:
    rows = await session.execute(
        select(MigrationLog, Migration)
        .join(Migration, col(Migration.id) == col(MigrationLog.migration_id))
        .where(col(MigrationLog.step) == Step.ANALYSE, col(MigrationLog.level) != "info")
        .order_by(col(MigrationLog.migration_id).desc(), col(MigrationLog.id))
        .limit(10 * LISTED)
    )
    flagged: dict[int, Flagged] = {}
    for log, migration in rows.all():
        entry = flagged.setdefault(log.migration_id, Flagged(queries.public(migration), []))
        entry.findings.append(log)
    return list(flagged.values())[:LISTED]


def failure_reasons(failures: list[MigrationPublic], reader: Translator) -> list[tuple[str, int]]:
    """The failures grouped by their reason in the reader's language (else the other one)."""
    return Counter(reader.pick(m.reason, m.reason_fr) or "?" for m in failures).most_common()


async def dashboard(
    session: AsyncSession, *, reader: Translator, now: datetime | None = None
) -> Dashboard:
    now = now or datetime.now(UTC)
    since = now - timedelta(days=DAYS)
    done = await _done(session, since)
    per_day = Counter(_day(m.updated_at) for m in done)
    durations = sorted((m.updated_at - m.created_at).total_seconds() for m in done)
    failures = await _stopped(session, State.FAILED)
    return Dashboard(
        counts=await _counts(session),
        per_day=[(day, per_day[day]) for day in _days(now.date())],
        p50_seconds=percentile(durations, 0.50),
        p95_seconds=percentile(durations, 0.95),
        failures=failures,
        reasons=failure_reasons(failures, reader),
        blocked=await _stopped(session, State.BLOCKED),
        flagged=await _flagged(session),
    )


def _day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _days(today: date) -> list[date]:
    return [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
