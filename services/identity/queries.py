"""Reads behind the API: persons, one person with accounts and links, conflicts, imports."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import NotFound
from services.identity.models import Account, Conflict, ImportJob, Link, Person
from services.identity.records import ACCEPTED
from services.identity.schemas import (
    AccountPublic,
    ConflictPublic,
    ConflictsPage,
    ImportPublic,
    LinkPublic,
    PersonAccount,
    PersonAccounts,
    PersonPublic,
    PersonsPage,
    PersonSummary,
)


class PersonNotFound(NotFound):
    code = "person_not_found"


class ImportNotFound(NotFound):
    code = "import_not_found"


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_persons(session: AsyncSession, *, q: str, offset: int, limit: int) -> PersonsPage:
    pattern = f"%{_escaped(q.strip())}%"
    where = or_(
        *(
            col(column).ilike(pattern, escape="\\")
            for column in (Person.uid, Person.mail, Person.sn, Person.given_name)
        )
    )
    total = await session.scalar(select(func.count()).select_from(Person).where(where))
    rows = await session.execute(
        select(Person)
        .where(where)
        .order_by(col(Person.sn), col(Person.id))
        .offset(offset)
        .limit(limit)
    )
    items = [PersonSummary.model_validate(p) for p in rows.scalars()]
    return PersonsPage(items=items, total=int(total or 0))


async def one_person(session: AsyncSession, person_id: int) -> PersonPublic:
    person = await session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"No person {person_id}.", message_fr=f"Aucune personne {person_id}.")
    rows = await session.execute(
        select(Link, Account)
        .join(Account, col(Account.id) == col(Link.account_id))
        .where(col(Link.person_id) == person_id)
        .order_by(col(Account.platform), col(Account.moodle_id))
    )
    links = [
        LinkPublic(
            account=AccountPublic.model_validate(account),
            method=link.method,
            score=link.score,
            status=link.status,
            reason=link.reason,
        )
        for link, account in rows.all()
    ]
    public = PersonPublic.model_validate(person)
    return public.model_copy(update={"links": links})


async def accounts_of_person(session: AsyncSession, *, uid: str, platform: str) -> PersonAccounts:
    """The live accounts that the person with directory ``uid`` holds on ``platform``, through
    links applied by an exact key or confirmed by an administrator (never a mere proposal)."""
    person = await session.scalar(
        select(Person).where(func.lower(col(Person.uid)) == uid.strip().lower()).limit(1)
    )
    if person is None:
        raise PersonNotFound(
            "No person with this uid in the directory.",
            message_fr="Aucune personne de l'annuaire n'a cet identifiant.",
        )
    rows = await session.execute(
        select(Link, Account)
        .join(Account, col(Account.id) == col(Link.account_id))
        .where(
            col(Link.person_id) == person.id,
            col(Account.platform) == platform,
            ~col(Account.deleted),
        )
        .order_by(col(Account.moodle_id))
    )
    accounts = [
        PersonAccount(
            moodle_id=account.moodle_id,
            username=account.username,
            link_method=link.method,
            link_status=link.status,
        )
        for link, account in rows.all()
        if link.status in ACCEPTED
    ]
    holders = await session.execute(
        select(Link)
        .join(Account, col(Account.id) == col(Link.account_id))
        .where(
            col(Account.platform) == platform,
            func.lower(col(Account.username)) == person.uid.lower(),
            ~col(Account.deleted),
        )
    )
    held = any(h.person_id != person.id and h.status in ACCEPTED for h in holders.scalars())
    return PersonAccounts(
        uid=person.uid,
        platform=platform,
        accounts=accounts,
        username_held_by_another_person=held,
    )


async def conflicts_page(
    session: AsyncSession, *, kind: str | None, platform: str | None, offset: int, limit: int
) -> ConflictsPage:
    query = select(Conflict)
    if kind is not None:
        query = query.where(col(Conflict.kind) == kind)
    rows = list((await session.execute(query.order_by(col(Conflict.id)))).scalars())
    if platform is not None:  # JSON lists: filtered here, portable across backends
        rows = [c for c in rows if platform in c.platforms]
    items = [ConflictPublic.model_validate(c) for c in rows[offset : offset + limit]]
    return ConflictsPage(items=items, total=len(rows), offset=offset, limit=limit)


async def one_import(session: AsyncSession, import_id: int) -> ImportPublic:
    job = await session.get(ImportJob, import_id)
    if job is None:
        raise ImportNotFound(f"No import {import_id}.", message_fr=f"Aucun import {import_id}.")
    return ImportPublic.model_validate(job)
