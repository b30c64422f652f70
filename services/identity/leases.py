"""Which process runs an import or applies a plan: a lease, renewed while the job runs.

A job's lease is granted in the transaction that queues it (an import requested, a plan
approved or its revert asked) and names one run of it (``holder``: this process and a token),
so that one run at a time writes. While the run lives, a heartbeat renews the lease every
third of its length, and every transaction of the run begins with ``Lease.fence``: a
conditional renewal that fails (``LeaseLost``: the run stops, writing nothing more) when
another process took the job over. On PostgreSQL the fence also locks the job's row until
the transaction ends, so a takeover waits for it and then finds the lease renewed.

A process that dies stops renewing; once the lease ran out the job is anybody's
(``services/identity/resume.py``). A run that is cancelled (the service stopping) gives its
lease back at once, so that the next start resumes it without counting a failed attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.db import on_postgresql
from fusion.unit_of_work import UnitOfWork
from services.identity.models import ImportJob, Plan, utcnow

log = logging.getLogger(__name__)

# Names this process in the leases it holds (readable by an operator, unique per start).
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"

Leased = ImportJob | Plan
Units = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class LeaseLost(Exception):
    """Another process took the job over (this one's lease had run out): stop writing."""


def expiry(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def is_free(model: type[Leased]) -> ColumnElement[bool]:
    """SQL condition: nobody holds the job, or their lease ran out."""
    return or_(col(model.lease_until).is_(None), col(model.lease_until) < utcnow())


def lease_is_free(entity: Leased) -> bool:
    until = entity.lease_until
    if until is None:
        return True
    if until.tzinfo is None:  # SQLite gives back naive datetimes
        until = until.replace(tzinfo=UTC)
    return until < utcnow()


async def locked(session: AsyncSession, model: type[Any], entity_id: int) -> Any:
    """The row, read again and locked until the transaction ends (PostgreSQL: FOR UPDATE;
    SQLite: the write lock, taken at once by the kit's BEGIN IMMEDIATE)."""
    if not on_postgresql(session):
        async with session.begin_nested():
            pass
    return await session.get(model, entity_id, with_for_update=True, populate_existing=True)


@dataclass(frozen=True)
class Lease:
    model: type[Leased]
    entity_id: int
    holder: str
    seconds: float

    @classmethod
    def grant(cls, entity: Leased, *, seconds: float) -> Lease:
        """Hold ``entity`` (locked and free, in the caller's transaction) for a new run."""
        holder = f"{PROCESS}/{uuid4().hex[:8]}"
        entity.lease_owner, entity.lease_until = holder, expiry(seconds)
        return cls(type(entity), entity.id or 0, holder, seconds)

    def _held(self) -> Any:
        model = self.model
        return update(model).where(
            col(model.id) == self.entity_id, col(model.lease_owner) == self.holder
        )

    async def renew(self, session: AsyncSession) -> bool:
        result = await session.execute(self._held().values(lease_until=expiry(self.seconds)))
        return bool(getattr(result, "rowcount", 0) == 1)

    async def fence(self, session: AsyncSession) -> None:
        """The first statement of each of the run's transactions."""
        if not await self.renew(session):
            raise LeaseLost(f"{self.model.__tablename__} {self.entity_id} was taken over")

    async def end(self, session: AsyncSession) -> None:
        """In the run's last transaction: the job is finished, nobody holds it."""
        await session.execute(self._held().values(lease_owner=None, lease_until=None))

    async def give_back(self, units: Units) -> None:
        """The run was cancelled: free the job for the next start, without waiting for it."""
        try:
            async with units() as uow:
                await self.end(uow.session)
        except Exception:  # the database may be going away too: then the lease just expires
            log.warning("%s %s: lease not given back", self.model.__tablename__, self.entity_id)

    @asynccontextmanager
    async def kept(self, units: Units) -> AsyncIterator[None]:
        """Renew the lease in the background while the block runs."""
        beat = asyncio.create_task(self._beat(units), name=f"lease-{self.holder}")
        try:
            yield
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _beat(self, units: Units) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                async with units() as uow:
                    if not await self.renew(uow.session):
                        return  # taken over: the run's next fence stops it
            except Exception as error:  # tried again at the next beat
                log.warning("lease of %s not renewed: %s", self.holder, type(error).__name__)
