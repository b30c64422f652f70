"""One unit of work per request or message: a session, messages staged in the outbox, and work
to run once the transaction has committed.

    async with resources.unit_of_work() as uow:
        run = await create_run(uow.session, ...)
        await uow.publish(SyncRunStateChanged(...))    # leaves after the commit, via the outbox
        uow.after_commit(lambda: runner.submit(run.id))  # runs only if the commit succeeded

The block commits when it ends without error and rolls back otherwise; ``after_commit``
callbacks run after a successful commit only, in order. Routes get one through a dependency
whose exit runs *before* the response is sent (``scope="function"``), so a client told
"created" can rely on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.contracts import Envelope, Message
from fusion.db import Database
from fusion.outbox import add_to_outbox

__all__ = ["UnitOfWork", "open_unit_of_work"]


class UnitOfWork:
    def __init__(self, session: AsyncSession, *, outbox: Table | None) -> None:
        self.session = session
        self._outbox = outbox
        self._after_commit: list[Callable[[], object]] = []
        self.published = 0

    async def publish(self, message: Message) -> Envelope:
        """Stage ``message`` in this transaction; the relay sends it once committed."""
        if self._outbox is None:
            raise RuntimeError("this service declared no outbox: it publishes nothing")
        envelope = Envelope.of(message)
        await add_to_outbox(self.session, envelope, outbox=self._outbox)
        self.published += 1
        return envelope

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()


@asynccontextmanager
async def open_unit_of_work(
    database: Database,
    *,
    outbox: Table | None = None,
    on_commit: Callable[[UnitOfWork], object] | None = None,
) -> AsyncIterator[UnitOfWork]:
    async with database.session() as session:
        uow = UnitOfWork(session, outbox=outbox)
        yield uow
        await uow.commit()
        if on_commit is not None:
            on_commit(uow)
