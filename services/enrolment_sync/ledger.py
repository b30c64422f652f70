"""Reading and writing the ledger: what the service enrolled, the groups it manages, the
student-number → Moodle-user links and the ETags already applied. Set-based and bulk."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from fusion.db import conflict_insert, dialect_of
from services.enrolment_sync.diff import Ledger, pack
from services.enrolment_sync.models import (
    CodeEtag,
    CourseState,
    ExistingEnrolment,
    LedgerEnrolment,
    LedgerGroup,
    LedgerGroupMember,
    UserLink,
)
from services.enrolment_sync.wanted import Membership

# Below this many courses a query filters with IN; above, reading all rows is cheaper.
_IN_LIMIT = 500


def table(model: Any) -> Table:
    assert isinstance(model.__table__, Table)
    return model.__table__


async def load_enrolments(session: AsyncSession, courses: Collection[int] | None) -> Ledger:
    """The ledger of ``courses`` (None: every course), packed for set operations."""
    t = table(LedgerEnrolment)
    query = select(t.c.course_id, t.c.user_id, t.c.role_id, t.c.suspended)
    narrow = courses is not None and len(courses) <= _IN_LIMIT
    if narrow and courses is not None:
        query = query.where(t.c.course_id.in_(list(courses)))
    keep = courses if courses is not None and not narrow else None
    ledger = Ledger()
    for course, user, role, suspended in (await session.execute(query)).all():
        if keep is None or course in keep:
            (ledger.suspended if suspended else ledger.active).add(pack(course, user, role))
    return ledger


async def load_existing(session: AsyncSession, courses: Collection[int]) -> set[tuple[int, int]]:
    """(course, user) pairs of enrolments others made, found before the sync's first write."""
    t = table(ExistingEnrolment)
    rows = await _rows_for_courses(session, t, (t.c.course_id, t.c.user_id), courses)
    return {(course, user) for course, user in rows}


async def record_existing(
    session: AsyncSession, pairs: Iterable[tuple[int, int]], *, at: Any
) -> None:
    rows = [{"course_id": c, "user_id": u, "found_at": at} for c, u in pairs]
    await upsert(session, table(ExistingEnrolment), rows, keys=("course_id", "user_id"))


async def forget_existing(session: AsyncSession, pairs: Iterable[tuple[int, int]]) -> None:
    t = table(ExistingEnrolment)
    statement = delete(t).where(t.c.course_id == bindparam("c"), t.c.user_id == bindparam("u"))
    await _executemany(session, statement, [{"c": c, "u": u} for c, u in pairs])


async def load_groups(
    session: AsyncSession, courses: Collection[int]
) -> dict[tuple[int, str], int]:
    t = table(LedgerGroup)
    rows = await _rows_for_courses(session, t, (t.c.course_id, t.c.idnumber, t.c.group_id), courses)
    return {(course, idnumber): group for course, idnumber, group in rows}


async def load_memberships(session: AsyncSession, courses: Collection[int]) -> set[Membership]:
    t = table(LedgerGroupMember)
    rows = await _rows_for_courses(session, t, (t.c.course_id, t.c.idnumber, t.c.user_id), courses)
    return {(course, idnumber, user) for course, idnumber, user in rows}


async def _rows_for_courses(
    session: AsyncSession, t: Table, columns: Sequence[Any], courses: Collection[int]
) -> list[Any]:
    query = select(*columns)
    if len(courses) <= _IN_LIMIT:
        query = query.where(t.c.course_id.in_(list(courses)))
    rows = (await session.execute(query)).all()
    return [row for row in rows if row[0] in courses]


async def ledger_courses(session: AsyncSession) -> set[int]:
    t = table(LedgerEnrolment)
    return set((await session.execute(select(t.c.course_id).distinct())).scalars())


async def load_user_links(session: AsyncSession, cod_etus: Collection[str]) -> dict[str, int]:
    t = table(UserLink)
    query = select(t.c.cod_etu, t.c.user_id)
    if len(cod_etus) <= _IN_LIMIT * 10:
        query = query.where(t.c.cod_etu.in_(list(cod_etus)))
    rows = (await session.execute(query)).all()
    return {str(cod_etu): int(user) for cod_etu, user in rows}


async def save_user_links(session: AsyncSession, links: Mapping[str, int]) -> None:
    rows = [{"cod_etu": cod_etu, "user_id": user} for cod_etu, user in links.items()]
    await upsert(session, table(UserLink), rows, keys=("cod_etu",))


async def load_etags(session: AsyncSession) -> dict[tuple[str, int], str]:
    t = table(CodeEtag)
    rows = (await session.execute(select(t.c.code, t.c.year_key, t.c.etag))).all()
    return {(code, year): etag for code, year, etag in rows}


async def save_etags(session: AsyncSession, etags: Mapping[tuple[str, int], str]) -> None:
    rows = [{"code": code, "year_key": year, "etag": etag} for (code, year), etag in etags.items()]
    await upsert(session, table(CodeEtag), rows, keys=("code", "year_key"))


async def dirty_courses(session: AsyncSession) -> set[int]:
    t = table(CourseState)
    return set((await session.execute(select(t.c.course_id).where(t.c.dirty))).scalars())


async def mark_dirty(session: AsyncSession, courses: Iterable[int]) -> None:
    rows = [{"course_id": course, "dirty": True} for course in set(courses)]
    await upsert(session, table(CourseState), rows, keys=("course_id",))


async def mark_clean(session: AsyncSession, courses: Iterable[int], *, at: Any) -> None:
    rows = [{"course_id": c, "dirty": False, "last_synced_at": at} for c in set(courses)]
    await upsert(session, table(CourseState), rows, keys=("course_id",))


async def record_enrolled(
    session: AsyncSession, rows: Iterable[tuple[int, int, int]], *, run_id: int
) -> None:
    values = [
        {"course_id": c, "user_id": u, "role_id": r, "suspended": False, "run_id": run_id}
        for c, u, r in rows
    ]
    await upsert(session, table(LedgerEnrolment), values, keys=("course_id", "user_id"))


async def record_suspended(session: AsyncSession, rows: Iterable[tuple[int, int]]) -> None:
    t = table(LedgerEnrolment)
    statement = (
        update(t)
        .where(t.c.course_id == bindparam("c"), t.c.user_id == bindparam("u"))
        .values(suspended=True)
    )
    await _executemany(session, statement, [{"c": c, "u": u} for c, u in rows])


async def forget_enrolments(session: AsyncSession, rows: Iterable[tuple[int, int]]) -> None:
    t = table(LedgerEnrolment)
    statement = delete(t).where(t.c.course_id == bindparam("c"), t.c.user_id == bindparam("u"))
    await _executemany(session, statement, [{"c": c, "u": u} for c, u in rows])


async def record_groups(session: AsyncSession, groups: Mapping[tuple[int, str], int]) -> None:
    rows = [{"course_id": c, "idnumber": i, "group_id": g} for (c, i), g in groups.items()]
    await upsert(session, table(LedgerGroup), rows, keys=("course_id", "idnumber"))


async def record_members(session: AsyncSession, rows: Iterable[Membership]) -> None:
    values = [{"course_id": c, "idnumber": i, "user_id": u} for c, i, u in rows]
    await upsert(
        session, table(LedgerGroupMember), values, keys=("course_id", "idnumber", "user_id")
    )


async def forget_members(session: AsyncSession, rows: Iterable[Membership]) -> None:
    t = table(LedgerGroupMember)
    statement = delete(t).where(
        t.c.course_id == bindparam("c"),
        t.c.idnumber == bindparam("i"),
        t.c.user_id == bindparam("u"),
    )
    await _executemany(session, statement, [{"c": c, "i": i, "u": u} for c, i, u in rows])


async def forget_user_memberships(session: AsyncSession, rows: Iterable[tuple[int, int]]) -> None:
    """Every group membership of these (course, user): Moodle drops them with the enrolment."""
    t = table(LedgerGroupMember)
    statement = delete(t).where(t.c.course_id == bindparam("c"), t.c.user_id == bindparam("u"))
    await _executemany(session, statement, [{"c": c, "u": u} for c, u in rows])


async def upsert(
    session: AsyncSession, t: Table, rows: Sequence[Mapping[str, Any]], *, keys: Sequence[str]
) -> None:
    """Insert or update by primary key (PostgreSQL or SQLite), as one executemany.

    One statement with bound parameters, compiled once and cached: building a multi-row VALUES
    clause instead costs more in SQL compilation than the database spends writing the rows.
    """
    if not rows:
        return
    connection = await session.connection()
    statement = conflict_insert(t, dialect_of(connection))
    columns = [name for name in rows[0] if name not in keys]
    if columns:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    await connection.execute(statement, list(rows))


async def _executemany(session: AsyncSession, statement: Any, params: list[dict[str, Any]]) -> None:
    if params:
        connection: AsyncConnection = await session.connection()
        await connection.execute(statement, params)
