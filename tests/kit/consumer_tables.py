"""The tables of a test consumer: the kit's messaging tables and the rows its handler writes."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from fusion.bus.tables import MessagingTables
from fusion.db import new_metadata
from fusion.outbox import messaging_tables


def consumer_tables() -> tuple[MessagingTables, Table]:
    """Inbox and outbox, and ``restored_course``: one row per handled ``CourseRestored``."""
    metadata = new_metadata()
    tables = messaging_tables(metadata)
    courses = Table(
        "restored_course",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("migration_id", String(36), nullable=False),
    )
    return tables, courses
