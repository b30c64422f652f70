"""A guarded update and the rows that go with it, in one round trip on PostgreSQL.

A state change is an ``UPDATE … WHERE id = … AND state = <the state read>`` (the guard: a
process that lost a race matches nothing) followed by rows that exist only because it
happened: a history row, an outbox message, log lines. Sent one by one, that is a statement
and a round trip each (a few hundred microseconds of the sender's CPU each, most of it the
driver's and the kernel's). On PostgreSQL they go as one statement:

    WITH moved AS (UPDATE migration SET … WHERE id = $1 AND state = $2 RETURNING id),
         i0 AS (INSERT INTO migration_transition (…) SELECT $3, … FROM moved),
         i1 AS (INSERT INTO fusion_outbox (…) SELECT $9, … FROM moved)
    SELECT moved.id FROM moved

Every data-modifying part of a ``WITH`` runs once, to completion, whether or not the main
query reads it; each insert selects from ``moved``, so it writes nothing when the guard matched
nothing. An update of another table made with the move (``Alongside``: a slot released) is
conditional on ``EXISTS (SELECT … FROM moved)`` in the same way; all parts see the snapshot
taken before the statement, so it must not touch the row the guarded update moves. The
statement is atomic like any other, in the caller's transaction or alone
(``Database.one_statement``). SQLite has no data-modifying ``WITH``: there the same writes go
one statement per table, in the same transaction, with the same answer.

The rows of one table go as one insert, in the order given (their serial ids follow it: the
parts of one ``WITH`` run in no set order). The combined statement is built once per shape
(the update, the columns and number of rows of each insert), so SQLAlchemy compiles it once
and the driver prepares it once. Past ``ROWS_IN_ONE_STATEMENT`` rows (a pre-flight with many
findings), the rest follow as plain inserts: a caller that must send one statement only
(``Database.one_statement``) sends no more rows than that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    exists,
    insert,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.db import on_postgresql

__all__ = ["ROWS_IN_ONE_STATEMENT", "Alongside", "Insertion", "update_then_insert"]

# Rows sent with the update in one statement, at most (a few hundred bound parameters); more
# follow it as plain inserts, in the same transaction, once the update matched.
ROWS_IN_ONE_STATEMENT = 50


@dataclass(frozen=True)
class Insertion:
    """One row to insert into ``table`` if the guarded update matched."""

    table: Table
    row: Mapping[str, Any]


@dataclass(frozen=True)
class Alongside:
    """Another update, made only if the guarded one matched (a platform slot released as its
    migration moves on). ``statement`` is built once, like the guarded update; its bound
    parameters are named apart from the update's and the rows' (they are sent together)."""

    statement: Update
    params: Mapping[str, Any]


# (table, the rows' columns sorted, how many rows) for each group of rows: the shape a
# statement is built for
_Shape = tuple[tuple[Table, tuple[str, ...], int], ...]


def _grouped(inserts: Sequence[Insertion]) -> list[list[Insertion]]:
    """The rows by table (and set of columns), each group in the order given, the groups in
    the order of their first row: one insert per group keeps the order of its rows (serial
    ids), which separate parts of one ``WITH`` would not (PostgreSQL runs them in no set
    order)."""
    groups: dict[tuple[Table, tuple[str, ...]], list[Insertion]] = {}
    for insertion in inserts:
        groups.setdefault((insertion.table, tuple(sorted(insertion.row))), []).append(insertion)
    return list(groups.values())


async def update_then_insert(
    session: AsyncSession,
    update: Update,
    params: Mapping[str, Any],
    inserts: Sequence[Insertion] = (),
    alongside: Sequence[Alongside] = (),
) -> bool:
    """Run ``update`` (bound ``params``; it must match at most one row) and, only if it matched
    a row, insert ``inserts`` (the rows of each table in the order given) and make the
    ``alongside`` updates. Returns whether it matched. ``update`` should be built once (a
    module constant or a cached builder): the combined statement is cached by its identity."""
    complete = [Insertion(i.table, _with_defaults(i.table, i.row)) for i in inserts]
    if not on_postgresql(session):  # SQLite has no data-modifying WITH
        return await _one_by_one(session, update, params, _grouped(complete), alongside)
    first, rest = complete[:ROWS_IN_ONE_STATEMENT], complete[ROWS_IN_ONE_STATEMENT:]
    groups = _grouped(first)
    shape: _Shape = tuple((g[0].table, tuple(sorted(g[0].row)), len(g)) for g in groups)
    bound = dict(params)
    for also in alongside:
        assert bound.keys().isdisjoint(also.params), "alongside parameters must be named apart"
        bound.update(also.params)
    for n, group in enumerate(groups):
        for k, insertion in enumerate(group):
            bound.update({f"i{n}_{k}_{name}": value for name, value in insertion.row.items()})
    others = tuple(also.statement for also in alongside)
    result = await session.execute(_combined(update, shape, others), bound)
    if result.first() is None:
        return False
    await _insert_groups(session, _grouped(rest))
    return True


async def _one_by_one(
    session: AsyncSession,
    update: Update,
    params: Mapping[str, Any],
    groups: list[list[Insertion]],
    alongside: Sequence[Alongside],
) -> bool:
    result = await session.execute(update, dict(params))
    if getattr(result, "rowcount", 0) != 1:
        return False
    for also in alongside:
        await session.execute(also.statement, dict(also.params))
    await _insert_groups(session, groups)
    return True


async def _insert_groups(session: AsyncSession, groups: list[list[Insertion]]) -> None:
    for group in groups:  # one statement per table, with a parameter set per row
        await session.execute(_insert_into(group[0].table), [dict(i.row) for i in group])


def _with_defaults(table: Table, row: Mapping[str, Any]) -> Mapping[str, Any]:
    """``row`` with the Python-side defaults of the columns it leaves out: an insert nested in
    a ``WITH`` gets no defaults from SQLAlchemy, so both paths get them here."""
    missing = {name: value() for name, value in _defaults(table).items() if name not in row}
    return {**row, **missing} if missing else row


@functools.cache
def _defaults(table: Table) -> dict[str, Callable[[], Any]]:
    """The Python-side default of each column of ``table`` that has one, as a function."""
    found: dict[str, Callable[[], Any]] = {}
    for column in table.columns:
        default = column.default
        if default is None or not hasattr(default, "arg"):
            continue
        if getattr(default, "is_scalar", False):
            found[column.name] = functools.partial(lambda value: value, default.arg)
        elif getattr(default, "is_callable", False):
            found[column.name] = functools.partial(default.arg, None)  # SQLAlchemy's wrapper
        else:
            raise ValueError(f"{table.name}.{column.name}: a SQL default, give its value")
    return found


@functools.cache
def _insert_into(table: Table) -> Insert:
    return insert(table)


@functools.lru_cache(maxsize=512)
def _combined(update: Update, shape: _Shape, alongside: tuple[Update, ...] = ()) -> Select[Any]:
    table = update.table
    assert isinstance(table, Table)
    key = next(iter(table.primary_key.columns))
    moved = update.returning(key).cte("moved")
    writes: list[CTE] = [
        also.where(exists(select(moved.c[key.name]))).cte(f"u{n}")
        for n, also in enumerate(alongside)
    ]
    for n, (target, columns, count) in enumerate(shape):
        rows = [
            select(
                *(
                    bindparam(f"i{n}_{k}_{name}", type_=target.c[name].type).label(name)
                    for name in columns
                )
            ).select_from(moved)
            for k in range(count)
        ]
        values = rows[0] if count == 1 else union_all(*rows)
        written = insert(target).from_select(list(columns), values, include_defaults=False)
        writes.append(written.cte(f"i{n}"))
    return select(moved.c[key.name]).add_cte(*writes)
