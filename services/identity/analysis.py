"""Linking every loaded account and recomputing the conflicts, after each import.

An administrator's decisions survive: a confirmed or manual link stays, a rejected proposal is
not proposed again for the same person.

One analysis (or link decision) at a time: each rewrites links keyed by account and conflicts
keyed by (kind, key), so two at once would insert the same keys. ``one_at_a_time`` holds a
lock until the caller's transaction ends — PostgreSQL's transaction-scoped advisory lock, or
SQLite's write lock taken at once — and everything after it reads what the previous one
committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.db import on_postgresql
from services.identity.conflicts import Linked, find_conflicts
from services.identity.linking import link_accounts
from services.identity.models import Account, Conflict, Link, Person, utcnow
from services.identity.records import ACCEPTED, LinkDecision, LinkMethod, LinkStatus
from services.identity.store import account_facts, directory_entry

DECIDED = frozenset({LinkStatus.CONFIRMED, LinkStatus.REJECTED})
ANALYSIS_LOCK = 0x1DE7_0001  # the advisory lock's key (PostgreSQL): "identity analysis"


async def one_at_a_time(session: AsyncSession) -> None:
    """Wait for any other analysis or link decision to commit, and hold them off until this
    transaction ends."""
    if on_postgresql(session):
        await session.execute(select(func.pg_advisory_xact_lock(ANALYSIS_LOCK)))
        return
    # SQLite: a transaction that began with a write holds the write lock already; otherwise
    # the kit opens one with BEGIN IMMEDIATE (fusion.db), which waits for the lock
    async with session.begin_nested():
        pass


@dataclass(frozen=True)
class AnalysisCounts:
    applied: int
    proposed: int
    conflicts: int


async def _load(session: AsyncSession) -> tuple[list[Person], list[Account], dict[int, Link]]:
    persons = list((await session.execute(select(Person).order_by(col(Person.id)))).scalars())
    accounts = list((await session.execute(select(Account).order_by(col(Account.id)))).scalars())
    links = {link.account_id: link for link in (await session.execute(select(Link))).scalars()}
    return persons, accounts, links


def _keep(existing: Link | None, person_id: int | None) -> bool:
    """An administrator's decision stands over the linker's (a rejection, for its person)."""
    if existing is None:
        return False
    if existing.status not in DECIDED and existing.method != LinkMethod.MANUAL:
        return False
    return not (existing.status == LinkStatus.REJECTED and person_id != existing.person_id)


async def analyse(session: AsyncSession, *, target: str | None) -> AnalysisCounts:
    await one_at_a_time(session)
    persons, accounts, links = await _load(session)
    entries = [directory_entry(p) for p in persons]
    facts = [account_facts(a) for a in accounts]
    decisions = link_accounts(entries, facts)
    index_of = {person.id: index for index, person in enumerate(persons)}
    person_of: list[int | None] = []
    proposed: set[int] = set()
    for position, (account, decision) in enumerate(zip(accounts, decisions, strict=True)):
        person_id = persons[decision.person].id if decision is not None else None
        link = await _store_link(session, account, links.get(account.id or 0), decision, person_id)
        accepted = link is not None and link.status in ACCEPTED
        person_of.append(index_of.get(link.person_id) if accepted and link else None)
        if link is not None and link.status == LinkStatus.PROPOSED:
            proposed.add(position)
    linked = Linked(
        entries,
        facts,
        person_of,
        frozenset(proposed),
    )
    found = await _store_conflicts(session, linked, persons, target=target)
    applied = sum(1 for p in person_of if p is not None)
    return AnalysisCounts(applied=applied, proposed=len(proposed), conflicts=found)


async def _store_link(
    session: AsyncSession,
    account: Account,
    existing: Link | None,
    decision: LinkDecision | None,
    person_id: int | None,
) -> Link | None:
    if _keep(existing, person_id):
        return existing
    if decision is None or person_id is None:
        if existing is not None:
            await session.delete(existing)
        return None
    link = existing or Link(
        account_id=account.id or 0, person_id=person_id, method="", score=0, status="", reason=""
    )
    link.person_id, link.method, link.score = person_id, decision.method.value, decision.score
    link.status, link.reason, link.updated_at = decision.status.value, decision.reason, utcnow()
    link.decided_by = None
    session.add(link)
    return link


async def _store_conflicts(
    session: AsyncSession, linked: Linked, persons: list[Person], *, target: str | None
) -> int:
    await session.execute(delete(Conflict))
    findings = find_conflicts(linked, target=target)
    for finding in findings:
        session.add(
            Conflict(
                kind=finding.kind.value,
                key=json.dumps(finding.key),
                platforms=list(finding.platforms),
                accounts=[list(ref) for ref in finding.accounts],
                person_id=None if finding.person is None else persons[finding.person].id,
                suggestion=finding.suggestion,
                suggestion_fr=finding.suggestion_fr,
            )
        )
    await session.flush()
    return len(findings)
