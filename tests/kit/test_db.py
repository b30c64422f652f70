from sqlalchemy import select
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col

from fusion.db import Database, new_metadata
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
