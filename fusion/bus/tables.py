"""The outbox and inbox tables, added to each service's own MetaData (services own databases)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
)

OUTBOX_TABLE = "fusion_outbox"
INBOX_TABLE = "fusion_inbox"


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite drops the offset, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def outbox_table(metadata: MetaData) -> Table:
    table = Table(
        OUTBOX_TABLE,
        metadata,
        Column("message_id", Uuid(), primary_key=True),
        Column("type", String(255), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("available_at", UtcDateTime(), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("sent_at", UtcDateTime(), nullable=True),
        Column("last_error", String(500), nullable=True),
    )
    # The relay only ever scans unsent rows: keep that index small on both backends.
    pending = table.c.sent_at.is_(None)
    Index(
        f"ix_{OUTBOX_TABLE}_pending",
        table.c.available_at,
        table.c.created_at,
        postgresql_where=pending,
        sqlite_where=pending,
    )
    return table


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        INBOX_TABLE,
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("message_id", Uuid(), primary_key=True),
        Column("type", String(255), nullable=False),
        Column("processed_at", UtcDateTime(), nullable=False),
    )


def messaging_tables(metadata: MetaData) -> MessagingTables:
    return MessagingTables(outbox=outbox_table(metadata), inbox=inbox_table(metadata))
