"""Every restore user-matching case identity replays, against the simulator, user by user."""

from __future__ import annotations

import hashlib
import io

import pytest

from sim.mbz import BackupSpec, CourseSpec, SiteSpec, UserSpec, write_course_backup
from sim.moodle.platform import Platform

from .conftest import Identity, mdl_user_csv
from .test_restore_check import _agree, _identity_says, _simulator_says

AT = 1_700_000_000


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _backup(users: list[UserSpec], *, site_hash: str) -> bytes:
    spec = BackupSpec(
        course=CourseSpec(id=7, shortname="C7", fullname="Cours 7"),
        site=SiteSpec(identifier_hash=site_hash),
        users=tuple(users),
    )
    buffer = io.BytesIO()
    write_course_backup(buffer, spec=spec)
    return buffer.getvalue()


def _user(id: int, username: str, email: str, **extra: object) -> UserSpec:
    names: dict[str, object] = {"firstname": "F", "lastname": "L"} | extra
    return UserSpec(id=id, username=username, email=email, **names)  # type: ignore[arg-type]


def _anonymised(id: int, n: int, **extra: object) -> UserSpec:
    """A user as the backup's 'Anonymise user information' option writes it."""
    names = {"firstname": f"anonfirstname{n}", "lastname": f"anonlastname{n}"} | extra
    return _user(id, f"anon{n}", f"anon{n}@doesntexist.com", **names)


def _same_site(target: Platform) -> tuple[list[UserSpec], list[str]]:
    target.add_user("alice", "A", "L", "alice@elsewhere.test", id=30)
    target.add_user(f"bob@x.test.{AT}", "B", "L", "", id=31, deleted=True)
    target.add_user("carol", "C", "L", "carol@x.test", id=32)
    target.add_user("dave", "D", "L", "dave@x.test", id=33)
    # a later anonymised backup's anon3 is another id here: 1B maps it by username; anon4's
    # first name is not the anonymiser's, so it is an ordinary user and conflicts (1E)
    target.add_user("anon3", "anonfirstname3", "anonlastname3", "anon3@doesntexist.com", id=34)
    target.add_user("anon4", "anonfirstname4", "anonlastname4", "anon4@doesntexist.com", id=35)
    users = [
        _user(30, "alice", "alice@a.test"),
        _anonymised(77, 3),
        _user(31, "bob", "BOB@x.test"),
        _user(32, f"carol@x.test.{AT}", "", deleted=True),
        _user(99, "dave", "dave@x.test"),
        _user(100, "erin", "erin@x.test"),
        _anonymised(78, 4, firstname="Anne"),
    ]
    return users, ["1A", "1B", "1C", "1D", "1E", "1F", "1E"]


def _other_site(target: Platform) -> tuple[list[UserSpec], list[str]]:
    target.add_user("gina", "G", "L", "GINA@x.test", id=40)
    target.add_user("hugo", "H", "L", "old@x.test", id=41, firstaccess=AT)
    target.add_user(f"ivan@x.test.{AT}", "I", "L", _md5("ivan"), id=42, deleted=True)
    target.add_user(f"jade@x.test.{AT}", "J", "L", "", id=43, deleted=True, firstaccess=AT + 3)
    target.add_user("kim2", "K", "L", "kim@x.test", id=44, firstaccess=AT + 4)
    target.add_user("lea", "L", "L", "lea@target.test", id=45, firstaccess=5)
    users = [
        _user(1, "gina", "gina@x.test"),
        _user(2, "hugo", "hugo@x.test", firstaccess=AT),
        _user(3, "ivan", "ivan@x.test"),
        _user(4, "jade", "jade@x.test", firstaccess=AT + 3),
        _user(5, f"kim@x.test.{AT}", "", deleted=True, firstaccess=AT + 4),
        _user(6, "lea", "lea@ub1.test", firstaccess=6),
        _user(7, "max", "max@x.test"),
    ]
    return users, ["2A1", "2A1", "2B1", "2B2", "2C", "2D", "2E"]


OTHER_HASH = "d" * 32


def _admin_mapped(target: Platform) -> tuple[list[UserSpec], list[str]]:
    """Duplicate admins allowed: the backup's admin maps to admin_<its site's hash> (2A2);
    an ordinary user that conflicts still conflicts (2D)."""
    target.site.duplicate_admin_allowed = True
    target.add_user(f"admin_{OTHER_HASH}", "Admin", "UB1", "admin@ub1.test", id=46)
    target.add_user("nina", "N", "L", "nina@target.test", id=47)
    users = [_user(2, "admin", "admin@ub1.test"), _user(8, "nina", "nina@ub1.test")]
    return users, ["2A2", "2D"]


def _admin_renamed(target: Platform) -> tuple[list[UserSpec], list[str]]:
    """Duplicate admins allowed and no admin_<hash> yet: the conflicting admin is created under
    that name; without the setting the same admin is a conflict (see the other-site case)."""
    target.site.duplicate_admin_allowed = True
    users = [_user(2, "admin", "admin@ub1.test"), _user(9, "olga", "olga@x.test")]
    return users, ["admin_renamed", "2E"]


def _plain_admin(target: Platform) -> tuple[list[UserSpec], list[str]]:
    target.add_user(f"admin_{OTHER_HASH}", "Admin", "UB1", "admin@ub1.test", id=46)
    return [_user(2, "admin", "admin@ub1.test")], ["2D"]


SCENARIOS = {
    "same": _same_site,
    "other": _other_site,
    "admin-mapped": _admin_mapped,
    "admin-renamed": _admin_renamed,
    "admin-without-the-setting": _plain_admin,
}


@pytest.mark.parametrize("site", list(SCENARIOS))
async def test_every_case_agrees_with_the_simulator(identity: Identity, site: str) -> None:
    target = identity.sim["target"]
    users, cases = SCENARIOS[site](target)
    site_hash = _md5(target.site.site_identifier) if site == "same" else OTHER_HASH
    data = _backup(users, site_hash=site_hash)
    await identity.load_file(mdl_user_csv(target), source="moodle_csv", platform="target")
    body = await _identity_says(identity, data, source="target" if site == "same" else "ub1")
    assert [u["case"] for u in body["users"]] == cases
    _agree(body, _simulator_says(target, data))
