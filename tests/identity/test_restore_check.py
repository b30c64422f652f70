"""restore-check against the simulator's own restore, user by user (moodle.md §9)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from fusion.testing.paths import MBZ_FIXTURES
from sim.moodle.archive import read_documents, text_of
from sim.moodle.platform import Platform
from sim.moodle.restore import _same_site, restore_backup
from sim.moodle.restore_users import backup_users, match_users

from .conftest import ADMIN, Identity, mdl_user_csv

FIXTURES = sorted(MBZ_FIXTURES.glob("*.mbz"))
DELETED_AT = 1_700_000_000


def _bytes_of(path: Path) -> bytes:
    return path.read_bytes()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _users_of(data: bytes) -> tuple[list[dict[str, Any]], str]:
    documents = read_documents(data)
    manifest = documents["moodle_backup.xml"]
    root = documents.get("users.xml")
    users = [
        {
            "id": int(u.get("id")),
            "username": text_of(u, "username"),
            "email": text_of(u, "email"),
            "auth": text_of(u, "auth", "manual"),
            "idnumber": text_of(u, "idnumber"),
            "firstname": text_of(u, "firstname"),
            "lastname": text_of(u, "lastname"),
            "firstaccess": int(text_of(u, "firstaccess", "0") or 0),
            "deleted": text_of(u, "deleted", "0") != "0",
            "mnethosturl": text_of(u, "mnethosturl") or None,
        }
        for u in ([] if root is None else root.findall("user"))
    ]
    return users, text_of(manifest, "information/original_site_identifier_hash")


def _simulator_says(target: Platform, data: bytes) -> dict[int, tuple[str, int | None]]:
    documents = read_documents(data)
    manifest = documents["moodle_backup.xml"]
    users = backup_users(target, documents.get("users.xml"))
    matching = match_users(
        target,
        users,
        same_site=_same_site(target, manifest),
        site_hash=text_of(manifest, "information/original_site_identifier_hash"),
    )
    conflicted = {p.split(": ", 1)[1] for p in matching.problems}
    verdicts: dict[int, tuple[str, int | None]] = {}
    for user in users:
        if user.username in conflicted:
            verdicts[user.id] = ("conflict", None)
        elif matching.mapping.get(user.id) is None:
            verdicts[user.id] = ("will_be_created", None)
        else:
            verdicts[user.id] = ("maps_to_existing", matching.mapping[user.id])
    return verdicts


async def _identity_says(
    identity: Identity, data: bytes, *, source: str | None = None
) -> dict[str, Any]:
    users, site_hash = _users_of(data)
    answer = await identity.http.post(
        "/identity/v1/restore-check",
        json={
            "platform": "target",
            "source_platform": source,
            "original_site_identifier_hash": site_hash or None,
            # the target's own setting, as the caller reads it from the target
            "duplicate_admin_allowed": identity.sim["target"].site.duplicate_admin_allowed,
            "users": users,
        },
        headers=ADMIN,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _agree(body: dict[str, Any], expected: dict[int, tuple[str, int | None]]) -> None:
    got = {
        u["backup_user_id"]: (
            u["outcome"],
            u["target_user_id"] if u["outcome"] == "maps_to_existing" else None,
        )
        for u in body["users"]
    }
    assert got == expected
    assert body["clean"] == all(o != "conflict" for o, _ in expected.values())


def _seed_conflicting(target: Platform, users: list[dict[str, Any]]) -> None:
    """For each backup user, in turn: its username with another e-mail (2D), with the same
    e-mail in capitals (2A1), with another e-mail but the same first access (2A1), and a
    deleted account delete_user() left behind under its e-mail (2B2), then again."""
    for n, user in enumerate(users):
        kind = n % 4
        email, firstaccess = user["email"], user["firstaccess"]
        if kind == 0:
            target.add_user(user["username"], "Other", "Person", f"other{n}@target.test")
        elif kind == 1:
            target.add_user(user["username"], "Same", "Person", email.upper(), firstaccess=9)
        elif kind == 2:
            target.add_user(
                user["username"], "Same", "Person", f"old{n}@x.test", firstaccess=firstaccess
            )
        else:
            target.add_user(
                f"{email}.{DELETED_AT}", "Gone", "Person", "", deleted=True, firstaccess=firstaccess
            )


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
async def test_restore_check_agrees_with_the_restore_on_an_empty_target(
    identity: Identity, path: Path
) -> None:
    data = _bytes_of(path)
    await identity.load_platform("target")
    target = identity.sim["target"]
    body = await _identity_says(identity, data)
    _agree(body, _simulator_says(target, data))
    outcome = restore_backup(target, data, categoryid=1)
    assert (outcome.exit_code == 0) == body["clean"]


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
async def test_restore_check_agrees_with_the_restore_on_a_target_with_conflicting_accounts(
    identity: Identity, path: Path
) -> None:
    data = _bytes_of(path)
    users, _ = _users_of(data)
    target = identity.sim["target"]
    _seed_conflicting(target, users)
    # deleted accounts are only in the database: the administrator's mdl_user export
    await identity.load_file(mdl_user_csv(target), source="moodle_csv", platform="target")
    body = await _identity_says(identity, data)
    expected = _simulator_says(target, data)
    _agree(body, expected)
    if users:
        assert body["users"][0]["case"] == "2D"
    outcome = restore_backup(target, data, categoryid=1)
    assert (outcome.exit_code == 0) == body["clean"]
