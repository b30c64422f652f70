"""Homogenisation plans applied to simulated platforms, re-applied, reverted; all audited."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from fusion.db import Database
from services.identity.models import AuditEntry, plan_history
from sim.mbz import (
    BackupSpec,
    CourseSpec,
    EnrolSpec,
    RoleAssignmentSpec,
    SiteSpec,
    UserSpec,
    write_course_backup,
)
from sim.moodle.platform import Platform
from sim.moodle.restore import restore_backup
from sim.moodle.state import SimMoodle

from .conftest import ADMIN, Identity, moves, published_types
from .test_restore_check import _identity_says

DIRECTORY = """dn: uid=hloeuillet,ou=people,dc=univ,dc=test
uid: hloeuillet
mail: helene.loeuillet@u-bordeaux.fr
sn:: TMWTdWlsbGV0
givenName:: SMOpbMOobmU=
supannEtuId: 21000001

dn: uid=jmartin,ou=people,dc=univ,dc=test
uid: jmartin
mail: jean.martin@u-bordeaux.fr
sn: Martin
givenName: Jean
supannEtuId: 21000002

dn: uid=amoreau,ou=people,dc=univ,dc=test
uid: amoreau
mail: anne.moreau@u-bordeaux.fr
sn: Moreau
givenName: Anne
supannEmpId: E100003

dn: uid=bdurand,ou=people,dc=univ,dc=test
uid: bdurand
mail: bruno.durand@u-bordeaux.fr
sn: Durand
givenName: Bruno
supannEmpId: E100004
"""


def seed_drift(sim: SimMoodle) -> None:
    ub1, target = sim["ub1"], sim["target"]
    # e-mail drift: the same username on the target, another address, another first access
    ub1.add_user(
        "hloeuillet",
        "Hélène",
        "Lœuillet",
        "h.l@ub1.fr",
        id=10,
        idnumber="21000001",
        firstaccess=111,
    )
    target.add_user(
        "hloeuillet",
        "Helene",
        "LOEUILLET",
        "hl@target.fr",
        id=20,
        idnumber="21000001",
        firstaccess=222,
    )
    # an old login on ub1: restored, it would become a second account on the target
    ub1.add_user(
        "jean.martin",
        "Jean",
        "Martin",
        "jean.martin@u-bordeaux.fr",
        id=11,
        idnumber="21000002",
        firstaccess=333,
    )
    target.add_user(
        "jmartin",
        "Jean",
        "Martin",
        "jean.martin@u-bordeaux.fr",
        id=21,
        idnumber="21000002",
        firstaccess=444,
    )
    # two colleagues whose addresses the target swapped
    target.add_user(
        "amoreau", "Anne", "Moreau", "bruno.durand@u-bordeaux.fr", id=22, idnumber="E100003"
    )
    target.add_user(
        "bdurand", "Bruno", "Durand", "anne.moreau@u-bordeaux.fr", id=23, idnumber="E100004"
    )


def _backup_of(platform: Platform, ids: list[int]) -> bytes:
    users = tuple(
        UserSpec(
            id=u.id,
            username=u.username,
            email=u.email,
            firstname=u.firstname,
            lastname=u.lastname,
            idnumber=u.idnumber,
            auth=u.auth,
            firstaccess=u.firstaccess,
        )
        for u in (platform.users[i] for i in ids)
    )
    spec = BackupSpec(
        course=CourseSpec(id=7, shortname="HIST1", fullname="Histoire 1"),
        site=SiteSpec(identifier_hash="e" * 32),
        users=users,
        enrolments=(EnrolSpec(id=1, method="manual", user_ids=tuple(ids)),),
        role_assignments=tuple(RoleAssignmentSpec(user_id=i, role_id=5) for i in ids),
    )
    buffer = io.BytesIO()
    write_course_backup(buffer, spec=spec)
    return buffer.getvalue()


async def _load_all(identity: Identity) -> None:
    done = await identity.load_file(DIRECTORY.encode(), source="ldif")
    assert (done["state"], done["created"]) == ("done", 4)
    for name in ("ub1", "target"):
        assert (await identity.load_platform(name))["state"] == "done"


async def _apply(identity: Identity, platform: str) -> dict[str, Any]:
    computed = await identity.http.post(
        "/identity/v1/plans", json={"platform": platform}, headers=ADMIN
    )
    assert computed.status_code == 201, computed.text
    plan = computed.json()
    started = await identity.http.post(f"/identity/v1/plans/{plan['id']}/apply", headers=ADMIN)
    assert started.status_code == 202, started.text
    return await identity.wait_plan(plan, {"applied", "failed"})


def _emails(platform: Platform) -> dict[str, str]:
    return {u.username: u.email for u in platform.users.values()}


async def _audit(identity: Identity, plan_id: int) -> list[AuditEntry]:
    database = Database(identity.settings.database_url.get_secret_value())
    try:
        async with database.session() as session:
            query = select(AuditEntry).where(col(AuditEntry.plan_id) == plan_id)
            return list((await session.execute(query.order_by(col(AuditEntry.id)))).scalars())
    finally:
        await database.dispose()


async def test_plans_applied_on_both_platforms_make_the_restore_check_clean(
    identity_pg: Identity,
) -> None:
    identity = identity_pg
    seed_drift(identity.sim)
    await _load_all(identity)
    before = await _identity_says(identity, _backup_of(identity.sim["ub1"], [10, 11]))
    assert not before["clean"]
    assert [u["case"] for u in before["users"]] == ["2D", "2E"]

    for platform in ("ub1", "target"):
        plan = await _apply(identity, platform)
        assert plan["state"] == "applied", plan
        assert plan["blocked"] == 0
        assert all(s["status"] == "applied" for s in plan["steps"]), plan["steps"]

    backup = _backup_of(identity.sim["ub1"], [10, 11])
    after = await _identity_says(identity, backup)
    assert after["clean"], after
    assert [(u["outcome"], u["target_user_id"]) for u in after["users"]] == [
        ("maps_to_existing", 20),
        ("maps_to_existing", 21),
    ]
    assert restore_backup(identity.sim["target"], backup, categoryid=1).exit_code == 0


async def test_a_plan_that_swaps_two_emails_applies_then_reverts_every_value(
    identity: Identity,
) -> None:
    seed_drift(identity.sim)
    await _load_all(identity)
    target = identity.sim["target"]
    original = {u.id: (u.username, u.email, u.firstname, u.lastname) for u in target.users.values()}

    plan = await _apply(identity, "target")
    assert plan["state"] == "applied", plan
    assert any(s["temporary"] for s in plan["steps"])  # the swap went through a parking value
    emails = _emails(target)
    assert (emails["amoreau"], emails["bdurand"]) == (
        "anne.moreau@u-bordeaux.fr",
        "bruno.durand@u-bordeaux.fr",
    )
    assert target.users[20].lastname == "Lœuillet"
    applied = await _audit(identity, plan["id"])
    assert {(a.moodle_id, a.field, a.previous_value) for a in applied} >= {
        (22, "email", "bruno.durand@u-bordeaux.fr"),
        (20, "lastname", "LOEUILLET"),
    }

    calls = identity.sim.counters("target")["core_user_update_users"]["calls"]
    again = await identity.http.post(f"/identity/v1/plans/{plan['id']}/apply", headers=ADMIN)
    assert again.status_code == 202
    assert again.json()["state"] == "applied"
    assert identity.sim.counters("target")["core_user_update_users"]["calls"] == calls

    recomputed = await identity.http.post(
        "/identity/v1/plans", json={"platform": "target"}, headers=ADMIN
    )
    assert recomputed.json()["changes"] == 0  # nothing left to homogenise

    reverting = await identity.http.post(f"/identity/v1/plans/{plan['id']}/revert", headers=ADMIN)
    assert reverting.status_code == 202, reverting.text
    reverted = await identity.wait_plan(plan, {"reverted", "failed"})
    assert reverted["state"] == "reverted", reverted
    now = {u.id: (u.username, u.email, u.firstname, u.lastname) for u in target.users.values()}
    assert now == original
    audit = await _audit(identity, plan["id"])
    assert {a.action for a in audit} == {"apply", "revert"}
    assert all(a.outcome == "applied" for a in audit)
    # the applied plan, approved again, moved nowhere: one move per step of its life
    assert await moves(identity, plan_history, plan["id"]) == [
        "computed",
        "approved",
        "applying",
        "applied",
        "reverting",
        "reverted",
    ]
    types = await published_types(identity)
    assert types.count("identity_plan.state_changed") >= 6
    assert (types.count("identity.plan_applied"), types.count("identity.plan_reverted")) == (1, 1)
