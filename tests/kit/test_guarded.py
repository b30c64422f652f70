"""A guarded update and its rows: all written when the guard matches, none when it does not,
on PostgreSQL (one statement) and on SQLite (one per table), with the same answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    bindparam,
    event,
    func,
    insert,
    select,
    update,
)

from fusion.bus.tables import UtcDateTime
from fusion.db import Database, new_metadata
from fusion.guarded import ROWS_IN_ONE_STATEMENT, Alongside, Insertion, update_then_insert

metadata = new_metadata()
thing = Table(
    "thing",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(20), nullable=False),
)
history = Table(
    "thing_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thing_id", Integer, ForeignKey("thing.id"), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)
note = Table(
    "thing_note",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thing_id", Integer, ForeignKey("thing.id"), nullable=False),
    Column("level", String(10), nullable=False, default="info"),
    Column("details", JSON, nullable=True),
)
seat = Table(  # held by a thing while it runs (a platform slot)
    "thing_seat",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thing_id", Integer, nullable=True),
)
FREE_SEAT = update(seat).where(seat.c.thing_id == bindparam("s_thing")).values(thing_id=None)
MOVE = (
    update(thing)
    .where(thing.c.id == bindparam("t_id"), thing.c.state == bindparam("t_from"))
    .values(state=bindparam("t_to"))
)
AT = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)


@dataclass
class Store:
    db: Database
    statements: list[str]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    db = Database(database_url)
    await db.create_all(metadata)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA")):
            statements.append(statement)

    async with db.unit_of_work() as session:
        await session.execute(insert(thing), [{"id": 1, "state": "new"}])
        await session.execute(insert(seat), [{"id": 1, "thing_id": 1}, {"id": 2, "thing_id": 9}])
    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    yield Store(db, statements)
    await db.dispose()


def rows(thing_id: int) -> list[Insertion]:
    return [
        Insertion(history, {"thing_id": thing_id, "to_state": "done", "at": AT}),
        Insertion(note, {"thing_id": thing_id, "details": {"size": 3, "mots": ["é"]}}),
        Insertion(note, {"thing_id": thing_id, "level": "warning", "details": None}),
    ]


async def counts(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        moves = (await session.execute(select(func.count()).select_from(history))).scalar()
        notes = (await session.execute(select(func.count()).select_from(note))).scalar()
    return int(moves or 0), int(notes or 0)


async def test_a_matching_guard_writes_the_update_and_every_row(store: Store) -> None:
    async with store.db.unit_of_work() as session:
        params = {"t_id": 1, "t_from": "new", "t_to": "done"}
        assert await update_then_insert(session, MOVE, params, rows(1))
    written = len(store.statements)
    async with store.db.session() as session:
        assert (await session.execute(select(thing.c.state))).scalar() == "done"
        [(when,)] = (await session.execute(select(history.c.at))).all()
        notes = (await session.execute(select(note.c.level, note.c.details))).all()
    assert when == AT
    # the column default applies as in a plain insert; JSON goes through its type
    assert sorted(notes, key=lambda n: n[0]) == [
        ("info", {"size": 3, "mots": ["é"]}),
        ("warning", None),
    ]
    # PostgreSQL: one statement; SQLite: the update, then one per table (the notes together)
    assert written == (1 if store.db.engine.dialect.name == "postgresql" else 3)


async def test_a_guard_that_matches_nothing_writes_nothing(store: Store) -> None:
    async with store.db.unit_of_work() as session:
        params = {"t_id": 1, "t_from": "running", "t_to": "done"}  # it is "new"
        assert not await update_then_insert(session, MOVE, params, rows(1))
        params = {"t_id": 2, "t_from": "new", "t_to": "done"}  # no such row
        assert not await update_then_insert(session, MOVE, params, rows(2))
    assert await counts(store.db) == (0, 0)
    async with store.db.session() as session:
        assert (await session.execute(select(thing.c.state))).scalar() == "new"


async def test_the_second_of_two_same_moves_matches_nothing(store: Store) -> None:
    params = {"t_id": 1, "t_from": "new", "t_to": "done"}
    async with store.db.unit_of_work() as session:
        assert await update_then_insert(session, MOVE, params, rows(1))
    async with store.db.unit_of_work() as session:
        assert not await update_then_insert(session, MOVE, params, rows(1))
    assert await counts(store.db) == (1, 2)


async def test_an_update_without_rows_is_the_update_alone(store: Store) -> None:
    async with store.db.unit_of_work() as session:
        assert await update_then_insert(session, MOVE, {"t_id": 1, "t_from": "new", "t_to": "x"})
    assert await counts(store.db) == (0, 0)


async def test_rows_of_one_table_keep_their_order(store: Store) -> None:
    """Serial ids follow the order given, rows of other tables in between (history is read in
    the order of its ids)."""
    states = [f"s{n}" for n in range(6)]
    mixed: list[Insertion] = []
    for state in states:
        mixed.append(Insertion(history, {"thing_id": 1, "to_state": state, "at": AT}))
        mixed.append(Insertion(note, {"thing_id": 1, "details": {"after": state}}))
    async with store.db.unit_of_work() as session:
        params = {"t_id": 1, "t_from": "new", "t_to": "done"}
        assert await update_then_insert(session, MOVE, params, mixed)
    async with store.db.session() as session:
        moves = (await session.execute(select(history.c.to_state).order_by(history.c.id))).all()
        notes = (await session.execute(select(note.c.details).order_by(note.c.id))).all()
    assert [m for (m,) in moves] == states
    assert [n["after"] for (n,) in notes] == states


async def test_more_rows_than_one_statement_takes_are_all_written_in_order(store: Store) -> None:
    count = ROWS_IN_ONE_STATEMENT * 2 + 7
    many = [
        Insertion(history, {"thing_id": 1, "to_state": f"s{n}", "at": AT}) for n in range(count)
    ]
    async with store.db.unit_of_work() as session:
        params = {"t_id": 1, "t_from": "new", "t_to": "done"}
        assert await update_then_insert(session, MOVE, params, many)
    async with store.db.session() as session:
        moves = (await session.execute(select(history.c.to_state).order_by(history.c.id))).all()
    assert [m for (m,) in moves] == [f"s{n}" for n in range(count)]


async def seats(db: Database) -> list[int | None]:
    async with db.session() as session:
        return [t for (t,) in (await session.execute(select(seat.c.thing_id).order_by(seat.c.id)))]


async def test_an_update_alongside_is_made_only_with_the_move(store: Store) -> None:
    freed = Alongside(FREE_SEAT, {"s_thing": 1})
    async with store.db.unit_of_work() as session:
        stale = {"t_id": 1, "t_from": "running", "t_to": "done"}  # it is "new"
        assert not await update_then_insert(session, MOVE, stale, rows(1), [freed])
    assert await seats(store.db) == [1, 9]
    store.statements.clear()
    async with store.db.unit_of_work() as session:
        params = {"t_id": 1, "t_from": "new", "t_to": "done"}
        assert await update_then_insert(session, MOVE, params, rows(1), [freed])
    written = len(store.statements)
    assert await seats(store.db) == [None, 9]  # its seat only
    assert await counts(store.db) == (1, 2)
    # PostgreSQL: still one statement; SQLite: the seat's update after the move's
    assert written == (1 if store.db.engine.dialect.name == "postgresql" else 4)
