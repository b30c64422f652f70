"""The outbox and the inbox do not grow forever: a service's housekeeping forgets old rows."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from fusion.bus.tables import messaging_tables
from fusion.db import Database, new_metadata
from fusion.resources import purge_messaging


async def test_housekeeping_forgets_old_sent_and_processed_rows(database_url: str) -> None:
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    database = Database(database_url)
    await database.create_all(metadata)
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)

    def outbox_row(sent_at: datetime | None) -> dict[str, object]:
        return {
            "message_id": uuid.uuid4(),
            "type": "t.x",
            "envelope": "{}",
            "created_at": old,
            "available_at": old,
            "attempts": 1,
            "sent_at": sent_at,
        }

    async with database.unit_of_work() as session:
        await session.execute(
            insert(tables.outbox), [outbox_row(old), outbox_row(recent), outbox_row(None)]
        )
        await session.execute(
            insert(tables.inbox),
            [
                {"consumer": "c", "message_id": uuid.uuid4(), "type": "t.x", "processed_at": at}
                for at in (old, recent)
            ],
        )

    # The runtime runs this hourly for every service with messaging tables.
    assert await purge_messaging(database, tables, keep=timedelta(days=30)) == 2
    async with database.session() as session:
        outbox = await session.execute(select(func.count()).select_from(tables.outbox))
        inbox = await session.execute(select(func.count()).select_from(tables.inbox))
    # the old sent row and the old inbox id went; unsent and recent rows stay
    assert (outbox.scalar_one(), inbox.scalar_one()) == (2, 1)
    await database.dispose()
