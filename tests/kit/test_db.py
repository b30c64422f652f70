import asyncio

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session, registry
from sqlmodel import Field, SQLModel, col

from fusion.db import Database, MoreThanOneStatement, new_metadata
from fusion.testing.plugin import rollback_session

metadata = new_metadata()


class Base(SQLModel, registry=registry(metadata=metadata)):
    pass


class Note(Base, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=200, unique=True)


async def test_unit_of_work_commits_at_the_edge(database_url: str) -> None:
    database = Database(database_url)
    await database.create_all(metadata)
    async with database.unit_of_work() as session:
        session.add(Note(text="kept"))
    async with database.session() as session:
        assert (await session.execute(select(col(Note.text)))).scalars().all() == ["kept"]
    await database.dispose()


async def test_failure_rolls_back_everything(database_url: str) -> None:
    database = Database(database_url)
    await database.create_all(metadata)
    try:
        async with database.unit_of_work() as session:
            session.add(Note(text="lost"))
            await session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with database.session() as session:
        assert (await session.execute(select(Note))).scalars().all() == []
    await database.ping()
    await database.dispose()


def test_constraint_names_follow_the_convention() -> None:
    names = {c.name for c in Note.__table__.constraints}  # type: ignore[attr-defined]
    assert "pk_note" in names
    assert "uq_note_text" in names


async def test_rollback_session_leaves_the_run_database_clean(pg_run_database: str) -> None:
    database = Database(pg_run_database)
    await database.create_all(metadata)
    async with rollback_session(database.engine) as session:
        session.add(Note(text="temporary"))
        await session.commit()  # a savepoint inside the test's transaction
        assert (await session.execute(select(col(Note.text)))).scalars().all() == ["temporary"]
    async with database.session() as session:
        assert (await session.execute(select(Note))).scalars().all() == []
    await database.dispose()


async def test_a_transaction_opened_by_a_savepoint_gets_to_write(database_url: str) -> None:
    """It reads, another connection commits a write meanwhile, then it writes: on SQLite that
    upgrade was refused at once with "database is locked"; it now waits its turn."""
    database = Database(database_url)
    await database.create_all(metadata)
    async with database.unit_of_work() as session:
        session.add(Note(text="first"))

    async def other_writer() -> None:
        async with database.unit_of_work() as other:
            other.add(Note(text="other"))

    try:
        async with database.unit_of_work() as session, session.begin_nested():
            assert len((await session.execute(select(Note))).scalars().all()) == 1
            writer = asyncio.create_task(other_writer())
            await asyncio.wait({writer}, timeout=0.5)  # it commits now, or waits for this one
            session.add(Note(text="mine"))
            await session.flush()
        await writer
        async with database.session() as session:
            texts = set((await session.execute(select(col(Note.text)))).scalars())
        assert texts == {"first", "other", "mine"}
    finally:
        await database.dispose()


async def test_a_read_session_holds_no_transaction(database_url: str) -> None:
    """``read``: what is committed, statement by statement, and the connection never left
    "idle in transaction" between them; the pool's next session is transactional again."""
    database = Database(database_url)
    await database.create_all(metadata)
    async with database.unit_of_work() as session:
        session.add(Note(text="first"))
    async with database.read() as reader:
        assert (await reader.execute(select(col(Note.text)))).scalars().all() == ["first"]
        async with database.unit_of_work() as session:  # another writer, meanwhile
            session.add(Note(text="second"))
        texts = (await reader.execute(select(col(Note.text)))).scalars().all()
        assert sorted(texts) == ["first", "second"]
        if not database.is_sqlite:
            # PostgreSQL's now() is the transaction's start: it moves only between transactions
            first = (await reader.execute(text("SELECT now()"))).scalar_one()
            await asyncio.sleep(0.01)
            assert (await reader.execute(text("SELECT now()"))).scalar_one() > first
    async with database.session() as session:
        first = (await session.execute(text("SELECT CURRENT_TIMESTAMP"))).scalar_one()
        await asyncio.sleep(0.01)
        if not database.is_sqlite:
            assert (await session.execute(text("SELECT CURRENT_TIMESTAMP"))).scalar_one() == first
    await database.dispose()


async def test_one_statement_is_sent_alone_and_a_second_is_refused(database_url: str) -> None:
    """``one_statement`` on PostgreSQL: no BEGIN nor COMMIT, its statement applied on its own,
    a second one refused before it is sent. On SQLite it is a unit of work."""
    database = Database(database_url)
    await database.create_all(metadata)
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement.split()[0].upper())

    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    committed: list[bool] = []

    def commit(_session: object) -> None:
        committed.append(True)

    event.listen(Session, "after_commit", commit)
    try:
        async with database.one_statement() as session:
            await session.execute(insert(Note).values(text="alone"))
        assert committed  # the commit hooks ran (the outbox relays are woken by them)
        if database.is_sqlite:
            async with database.one_statement() as session:  # a transaction there
                await session.execute(insert(Note).values(text="two"))
                await session.execute(insert(Note).values(text="three"))
        else:
            assert sent == ["INSERT"]

            async def two_statements() -> None:
                async with database.one_statement() as session:
                    await session.execute(insert(Note).values(text="applied"))
                    await session.execute(insert(Note).values(text="never sent"))

            with pytest.raises(MoreThanOneStatement):
                await two_statements()
            assert sent == ["INSERT", "INSERT"]
        async with database.read() as reader:
            texts = set((await reader.execute(select(col(Note.text)))).scalars())
        assert texts == ({"alone", "two", "three"} if database.is_sqlite else {"alone", "applied"})
        async with database.unit_of_work() as session:  # the connection is a usual one again
            await session.execute(insert(Note).values(text="after"))
            await session.execute(insert(Note).values(text="after, too"))
    finally:
        event.remove(Session, "after_commit", commit)
        await database.dispose()


async def test_a_unit_of_work_cancelled_while_it_commits_commits_and_gives_its_connection_back(
    database_url: str,
) -> None:
    """The end of a block (commit, close, the connection back in the pool) runs to its end
    even if the task is cancelled meanwhile; the cancellation is raised after it."""
    database = Database(database_url)
    await database.create_all(metadata)
    task: asyncio.Task[None] | None = None

    def cancel_now(_connection: object) -> None:  # the COMMIT is about to be sent
        assert task is not None
        task.cancel()

    async def write() -> None:
        async with database.unit_of_work() as session:
            session.add(Note(text="committed all the same"))

    event.listen(database.engine.sync_engine, "commit", cancel_now)
    try:
        task = asyncio.ensure_future(write())
        with pytest.raises(asyncio.CancelledError):
            await task
        event.remove(database.engine.sync_engine, "commit", cancel_now)
        assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with database.read() as reader:
            texts = (await reader.execute(select(col(Note.text)))).scalars().all()
        assert texts == ["committed all the same"]
    finally:
        await database.dispose()
