"""Which process is executing a run: a lease renewed at every batch.

With several replicas, a run must be applied by one process at a time; a process that dies
leaves a lease that expires, and the run can then be resumed by any replica, including the dead
process's own successor (``watch_leases`` looks again every lease period).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import col

from fusion.db import Database
from services.enrolment_sync.errors import RunBusy
from services.enrolment_sync.models import SyncRun, utcnow

# Names this process in the runs it holds (readable by an operator, unique per start).
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"


def check_not_held_elsewhere(run: SyncRun) -> None:
    """A run another live process holds is not ours to resume: say so instead of queueing it."""
    until = run.lease_until
    if until is None or run.lease_owner in (None, PROCESS):
        return
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if until > utcnow():
        raise RunBusy(
            f"Run {run.id} is being applied by {run.lease_owner} until {until:%H:%M:%S} UTC.",
            message_fr=f"La synchronisation n°{run.id} est en cours sur {run.lease_owner} "
            f"jusqu'à {until:%H:%M:%S} UTC.",
        )


def lease_expiry(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def is_free() -> ColumnElement[bool]:
    """SQL condition: nobody holds the run, or their lease ran out."""
    return or_(col(SyncRun.lease_until).is_(None), col(SyncRun.lease_until) < utcnow())


async def claim(db: Database, run_id: int, *, seconds: float, owner: str = PROCESS) -> None:
    async with db.unit_of_work() as session:
        claimed = await session.execute(
            update(SyncRun)
            .where(col(SyncRun.id) == run_id)
            .where(or_(is_free(), col(SyncRun.lease_owner) == owner))
            .values(lease_owner=owner, lease_until=lease_expiry(seconds))
        )
    if getattr(claimed, "rowcount", 0) != 1:
        raise RunBusy(
            f"Run {run_id} is being executed by another process.",
            message_fr=f"La synchronisation n°{run_id} est déjà en cours ailleurs.",
        )
