"""Accounts and persons in the database, written incrementally: an unchanged row is left alone."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.db import conflict_insert, dialect_of
from services.identity.models import Account, Person, utcnow
from services.identity.records import AccountFacts, DirectoryEntry

WRITE_CHUNK = 500  # rows looked up per query: bounded parameter lists on every backend


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: LoadCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


def fingerprint(values: tuple[object, ...]) -> str:
    return hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()


def account_facts(row: Account) -> AccountFacts:
    return AccountFacts(
        row.platform,
        row.moodle_id,
        row.username,
        row.email,
        row.firstname,
        row.lastname,
        row.idnumber,
        row.auth,
        row.firstaccess,
        row.lastaccess,
        row.deleted,
        row.suspended,
    )


def directory_entry(row: Person) -> DirectoryEntry:
    return DirectoryEntry(
        row.uid,
        row.mail,
        row.sn,
        row.given_name,
        row.etu_id,
        row.emp_id,
        row.ine,
        tuple(row.ref_ids),
        row.eppn,
    )


def _upsert(session: AsyncSession, model: Any, keys: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` in the session's dialect (PostgreSQL or
    SQLite: both have it), updating a row only when its fingerprint changed."""
    statement = conflict_insert(model, dialect_of(session))
    table = model.__table__
    updated = {
        c.name: statement.excluded[c.name]
        for c in table.columns
        if c.name not in keys and not c.primary_key
    }
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_=updated,
        where=table.c.fingerprint != statement.excluded.fingerprint,
    )


def _forget(session: AsyncSession, model: Any, keys: set[tuple[Any, ...]], key: Any) -> None:
    """Rows the upsert rewrote are read again from the database by the session's next query."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and key(obj) in keys:
            session.expire(obj)


async def _save(
    session: AsyncSession,
    model: Any,
    keys: list[str],
    items: Sequence[Any],
    row: Callable[[Any, str], dict[str, Any]],
) -> LoadCounts:
    """Upsert ``items`` (dataclasses carrying ``keys``) into ``model``, a chunk at a time, in
    key order; an item whose fingerprint is the stored one is left alone."""

    def key(obj: Any) -> tuple[Any, ...]:
        return tuple(getattr(obj, name) for name in keys)

    counts = LoadCounts()
    unique = {key(item): item for item in items}
    ordered = [unique[k] for k in sorted(unique)]
    written: set[tuple[Any, ...]] = set()
    columns = [col(getattr(model, name)) for name in keys]
    await session.flush()
    for start in range(0, len(ordered), WRITE_CHUNK):
        chunk = ordered[start : start + WRITE_CHUNK]
        found = await session.execute(
            select(*columns, col(model.fingerprint)).where(
                *(c.in_({key(item)[n] for item in chunk}) for n, c in enumerate(columns))
            )
        )
        known = {tuple(stored): print_ for *stored, print_ in found.all()}
        rows: list[dict[str, Any]] = []
        for item in chunk:
            print_ = fingerprint(astuple(item))
            before = known.get(key(item))
            if before == print_:
                counts.unchanged += 1
                continue
            if before is None:
                counts.created += 1
            else:
                counts.updated += 1
            rows.append(row(item, print_))
        if rows:
            await session.execute(_upsert(session, model, keys), rows)
            written.update(tuple(r[name] for name in keys) for r in rows)
    _forget(session, model, written, key)
    return counts


async def save_accounts(session: AsyncSession, facts: Sequence[AccountFacts]) -> LoadCounts:
    """Insert new accounts, update changed ones; flush only (the caller's edge commits).

    One upsert per chunk, so that two writers storing the same accounts at once (two
    restore-checks, an import beside a restore-check) never collide on (platform, moodle_id);
    rows are written in key order, so two such writers take their row locks in the same order.
    The counts come from what was stored before: when two writers store the same new account
    at once, both count it as created."""
    return await _save(session, Account, ["platform", "moodle_id"], facts, _account_row)


def _account_row(fact: AccountFacts, print_: str) -> dict[str, Any]:
    return {
        "platform": fact.platform,
        "moodle_id": fact.moodle_id,
        "username": fact.username,
        "email": fact.email,
        "firstname": fact.firstname,
        "lastname": fact.lastname,
        "idnumber": fact.idnumber,
        "auth": fact.auth,
        "firstaccess": fact.firstaccess,
        "lastaccess": fact.lastaccess,
        "deleted": fact.deleted,
        "suspended": fact.suspended,
        "fingerprint": print_,
        "loaded_at": utcnow(),
    }


async def save_persons(session: AsyncSession, entries: Sequence[DirectoryEntry]) -> LoadCounts:
    """Like ``save_accounts``, keyed by the directory's uid."""
    return await _save(session, Person, ["uid"], entries, _person_row)


def _person_row(entry: DirectoryEntry, print_: str) -> dict[str, Any]:
    return {
        "uid": entry.uid,
        "mail": entry.mail,
        "sn": entry.sn,
        "given_name": entry.given_name,
        "etu_id": entry.etu_id,
        "emp_id": entry.emp_id,
        "ine": entry.ine,
        "ref_ids": list(entry.ref_ids),
        "eppn": entry.eppn,
        "fingerprint": print_,
        "updated_at": utcnow(),
    }
