"""Homogenisation plans: compute, apply on approval, revert; every change audited.

A plan sets each linked account of one platform to its person's canonical values (directory
uid, mail, givenName, sn, supannEtuId or supannEmpId). Rounds (``plan_order``) run in order, in
batches of ``core_user_update_users``; before each batch the accounts are read again, so that a
step already done is not sent twice (re-applying is a no-op) and an account someone changed
since the plan was computed is skipped, not overwritten. Each round commits on its own: Moodle's
writes are not in our transaction, so what was done is recorded as soon as it is done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import Conflict as ConflictError
from fusion.errors import NotFound
from fusion.unit_of_work import UnitOfWork
from services.identity.conflicts import account_to_keep
from services.identity.lifecycle import PLAN_LIFECYCLE
from services.identity.models import Account, Link, Person, Plan, PlanStep
from services.identity.plan_order import Change, Step, Values, order_changes
from services.identity.records import ACCEPTED
from services.identity.store import account_facts

FIELDS = ("username", "email", "firstname", "lastname", "idnumber")


class PlanNotFound(NotFound):
    code = "plan_not_found"


class PlanStateConflict(ConflictError):
    code = "plan_state_conflict"


def _wanted(person: Person) -> dict[str, str]:
    values = {
        "username": person.uid.strip().lower(),
        "email": person.mail.strip(),
        "firstname": person.given_name,
        "lastname": person.sn,
        "idnumber": person.etu_id or person.emp_id,
    }
    return {name: value for name, value in values.items() if value}


def _change(account: Account, person: Person) -> Change | None:
    current = account_facts(account)
    values: Values = {
        name: (getattr(current, name), value)
        for name, value in _wanted(person).items()
        if getattr(current, name) != value
    }
    return Change(account.moodle_id, values) if values else None


async def _linked_accounts(
    session: AsyncSession, platform: str
) -> tuple[list[Account], list[tuple[Account, Person]]]:
    accounts = list(
        (await session.execute(select(Account).where(col(Account.platform) == platform))).scalars()
    )
    query = (
        select(Account, Person, Link)
        .join(Link, col(Link.account_id) == col(Account.id))
        .join(Person, col(Person.id) == col(Link.person_id))
        .where(col(Account.platform) == platform, ~col(Account.deleted))
    )
    pairs = [
        (a, p) for a, p, link in (await session.execute(query)).all() if link.status in ACCEPTED
    ]
    return accounts, _without_merge_candidates(pairs)


def _without_merge_candidates(pairs: list[tuple[Account, Person]]) -> list[tuple[Account, Person]]:
    """Of a person's duplicates on the platform only the account a merge keeps is homogenised;
    the others wait for tool_mergeusers (their conflict says which to merge)."""
    by_person: dict[int, list[Account]] = defaultdict(list)
    for account, person in pairs:
        by_person[person.id or 0].append(account)
    kept = set()
    for _, person in pairs:
        twins = by_person[person.id or 0]
        facts = account_to_keep([account_facts(a) for a in twins], person.uid)
        kept.add((person.id, facts.moodle_id))
    return [(a, p) for a, p in pairs if (p.id, a.moodle_id) in kept]


async def compute_plan(uow: UnitOfWork, *, platform: str) -> Plan:
    session = uow.session
    accounts, pairs = await _linked_accounts(session, platform)
    changes = [c for a, p in pairs if (c := _change(a, p)) is not None]
    plan = Plan(platform=platform)
    session.add(plan)
    await session.flush()
    by_moodle = {a.moodle_id: a for a in accounts}
    ordered = order_changes(changes, [account_facts(a) for a in accounts], tag=str(plan.id))
    _add_steps(session, plan, ordered.steps, by_moodle, phase="apply")
    for change, message, _ in ordered.blocked:
        account = by_moodle[change.moodle_id]
        session.add(
            PlanStep(
                plan_id=plan.id or 0,
                round=-1,
                account_id=account.id or 0,
                moodle_id=change.moodle_id,
                values={k: list(v) for k, v in change.values.items()},
                status="blocked",
                message=message,
            )
        )
    plan.changes, plan.blocked = len(changes) - len(ordered.blocked), len(ordered.blocked)
    await session.flush()
    cause = f"{plan.changes} change(s), {plan.blocked} blocked"
    await PLAN_LIFECYCLE.enter(uow, plan, cause=cause)
    return plan


def _add_steps(
    session: AsyncSession,
    plan: Plan,
    steps: Sequence[Step],
    by_moodle: dict[int, Account],
    *,
    phase: str,
) -> None:
    for step in steps:
        session.add(
            PlanStep(
                plan_id=plan.id or 0,
                phase=phase,
                round=step.round,
                account_id=by_moodle[step.moodle_id].id or 0,
                moodle_id=step.moodle_id,
                values={k: list(v) for k, v in step.values.items()},
                temporary=step.temporary,
            )
        )


async def get_plan(session: AsyncSession, plan_id: int) -> tuple[Plan, list[PlanStep]]:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound(f"No plan {plan_id}.", message_fr=f"Aucun plan {plan_id}.")
    query = (
        select(PlanStep)
        .where(col(PlanStep.plan_id) == plan_id)
        .order_by(col(PlanStep.phase), col(PlanStep.round), col(PlanStep.id))
    )
    return plan, list((await session.execute(query)).scalars())
