"""An administrator's word on a link: confirm a proposal (or link an account by hand), reject
one. The linker never overrides it (``analysis``); conflicts are recomputed at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import NotFound
from services.identity.analysis import analyse, one_at_a_time
from services.identity.models import Account, Link, Person, utcnow
from services.identity.records import LinkMethod, LinkStatus


class AccountNotFound(NotFound):
    code = "account_not_found"


async def decide_link(
    session: AsyncSession,
    account_id: int,
    *,
    person_id: int,
    confirm: bool,
    actor: str,
    target: str | None,
) -> Link:
    if await session.get(Account, account_id) is None:
        raise AccountNotFound(f"No account {account_id}.", message_fr=f"Aucun compte {account_id}.")
    if await session.get(Person, person_id) is None:
        raise NotFound(f"No person {person_id}.", message_fr=f"Aucune personne {person_id}.")
    await one_at_a_time(session)  # no analysis writes this account's link meanwhile
    query = select(Link).where(col(Link.account_id) == account_id)
    link = (await session.execute(query)).scalars().first()
    if link is None or link.person_id != person_id:
        link = link or Link(
            account_id=account_id, person_id=person_id, method="", score=0, status="", reason=""
        )
        link.person_id, link.method, link.score = person_id, LinkMethod.MANUAL.value, 100.0
        link.reason = "linked by an administrator"
    link.status = (LinkStatus.CONFIRMED if confirm else LinkStatus.REJECTED).value
    link.decided_by, link.updated_at = actor, utcnow()
    session.add(link)
    await session.flush()
    await analyse(session, target=target)
    return link
