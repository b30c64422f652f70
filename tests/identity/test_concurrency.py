"""Requests and jobs at the same time, on PostgreSQL: writes that two of them make at once (the
same accounts, links, conflicts) must not collide on a unique key."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from services.identity.models import Account, Conflict, Link

from .conftest import ADMIN, Identity, stored_rows

CONCURRENT = 4


def _seed_target(identity: Identity, count: int = 8) -> list[dict[str, Any]]:
    """Accounts on the target identity has never loaded, and a backup of the same persons."""
    target = identity.sim["target"]
    users = []
    for n in range(count):
        username, email = f"etu{n}", f"etu{n}@u-bordeaux.fr"
        account = target.add_user(username, "Zoé", f"Lœuillet-{n}", email, firstaccess=100 + n)
        users.append(
            {
                "id": 1000 + n,
                "username": username,
                "email": email,
                "firstname": "Zoé",
                "lastname": f"Lœuillet-{n}",
                "firstaccess": account.firstaccess,
            }
        )
    return users


async def test_concurrent_restore_checks_store_the_targets_accounts_once(
    identity_pg: Identity,
) -> None:
    identity = identity_pg
    users = _seed_target(identity)
    body = {"platform": "target", "source_platform": "ub1", "users": users}

    async def check() -> Any:
        return await identity.http.post("/identity/v1/restore-check", json=body, headers=ADMIN)

    answers = await asyncio.gather(*(check() for _ in range(CONCURRENT)))
    assert [a.status_code for a in answers] == [200] * CONCURRENT, [a.text for a in answers]
    verdicts = {tuple(u["outcome"] for u in a.json()["users"]) for a in answers}
    assert verdicts == {("maps_to_existing",) * len(users)}  # same answer for all four
    rows = await stored_rows(
        identity,
        select(col(Account.moodle_id), func.count())
        .where(col(Account.platform) == "target")
        .group_by(col(Account.moodle_id)),
    )
    assert len(rows) == len(users)
    assert all(count == 1 for _, count in rows)


async def test_concurrent_imports_of_one_platform_link_and_analyse_without_colliding(
    identity_pg: Identity,
) -> None:
    identity = identity_pg
    _seed_target(identity)
    started = [
        await identity.http.post(
            "/identity/v1/imports", json={"source": "moodle_ws", "platform": p}, headers=ADMIN
        )
        for p in ("target", "target", "ub1", "ub2")
    ]
    assert [s.status_code for s in started] == [202] * len(started)
    finished = await asyncio.gather(*(identity.wait_import(s.json()) for s in started))
    assert [f["state"] for f in finished] == ["done"] * len(started), finished
    accounts = await stored_rows(identity, select(func.count()).select_from(Account))
    links = await stored_rows(identity, select(func.count()).select_from(Link))
    conflicts = await stored_rows(identity, select(col(Conflict.kind), col(Conflict.key)))
    assert accounts[0][0] == 8 + 3  # eight students, the admin of each of three platforms
    assert links[0][0] == 0  # no directory loaded: nobody to link to
    assert len(conflicts) == len(set(conflicts))
