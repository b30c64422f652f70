"""Accounts and persons in the database, written incrementally: an unchanged row is left alone."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

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


async def save_accounts(session: AsyncSession, facts: Sequence[AccountFacts]) -> LoadCounts:
    """Insert new accounts, update changed ones; flush only (the caller's edge commits)."""
    counts = LoadCounts()
    for start in range(0, len(facts), WRITE_CHUNK):
        chunk = facts[start : start + WRITE_CHUNK]
        platforms = {f.platform for f in chunk}
        ids = [f.moodle_id for f in chunk]
        found = await session.execute(
            select(Account).where(
                col(Account.platform).in_(platforms), col(Account.moodle_id).in_(ids)
            )
        )
        known = {(a.platform, a.moodle_id): a for a in found.scalars()}
        for fact in chunk:
            counts.add(_save_account(session, known.get((fact.platform, fact.moodle_id)), fact))
    await session.flush()
    return counts


def _save_account(session: AsyncSession, row: Account | None, fact: AccountFacts) -> LoadCounts:
    print_ = fingerprint(astuple(fact))
    if row is not None and row.fingerprint == print_:
        return LoadCounts(unchanged=1)
    values: dict[str, Any] = {
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
    }
    if row is None:
        session.add(Account(platform=fact.platform, moodle_id=fact.moodle_id, **values))
        return LoadCounts(created=1)
    for name, value in values.items():
        setattr(row, name, value)
    row.loaded_at = utcnow()
    return LoadCounts(updated=1)


async def save_persons(session: AsyncSession, entries: Sequence[DirectoryEntry]) -> LoadCounts:
    counts = LoadCounts()
    for start in range(0, len(entries), WRITE_CHUNK):
        chunk = entries[start : start + WRITE_CHUNK]
        found = await session.execute(
            select(Person).where(col(Person.uid).in_([e.uid for e in chunk]))
        )
        known = {p.uid: p for p in found.scalars()}
        for entry in chunk:
            counts.add(_save_person(session, known.get(entry.uid), entry))
    await session.flush()
    return counts


def _save_person(session: AsyncSession, row: Person | None, entry: DirectoryEntry) -> LoadCounts:
    print_ = fingerprint(astuple(entry))
    if row is not None and row.fingerprint == print_:
        return LoadCounts(unchanged=1)
    values: dict[str, Any] = {
        "mail": entry.mail,
        "sn": entry.sn,
        "given_name": entry.given_name,
        "etu_id": entry.etu_id,
        "emp_id": entry.emp_id,
        "ine": entry.ine,
        "ref_ids": list(entry.ref_ids),
        "eppn": entry.eppn,
        "fingerprint": print_,
    }
    if row is None:
        session.add(Person(uid=entry.uid, **values))
        return LoadCounts(created=1)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    return LoadCounts(updated=1)
