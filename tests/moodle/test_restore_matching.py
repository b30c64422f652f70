"""Restore user matching, one case of ``restore_dbops::precheck_user`` per test (reference §9).

Deleted accounts are seeded the way ``delete_user()`` leaves them: username
``<email>.<time>`` (cut to 100 characters) and, sometimes, e-mail ``md5(username)``.
"""

from __future__ import annotations

import hashlib
import io

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
from sim.moodle.restore_users import BackupUser, match_users
from sim.moodle.state import SimMoodle

OTHER_SITE_HASH = "f" * 32
DELETED_AT = 1_700_000_000


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _target() -> Platform:
    target = SimMoodle().add_platform("target", sitename="Merged", wwwroot="http://merged.test")
    target.add_category("Miscellaneous", id=1)
    target.add_user("admin", "Admin", "User", "admin@merged.test", id=2)
    return target


def _own_hash(platform: Platform) -> str:
    return _md5(platform.site.site_identifier)


def _user(
    id: int, username: str, email: str, *, firstaccess: int = 0, deleted: bool = False
) -> BackupUser:
    return BackupUser(id, username, email, "First", "Last", "", "manual", firstaccess, deleted)


def _decide(platform: Platform, user: BackupUser, *, same_site: bool) -> tuple[str, int | None]:
    site_hash = _own_hash(platform) if same_site else OTHER_SITE_HASH
    matching = match_users(platform, [user], same_site=same_site, site_hash=site_hash)
    if matching.problems:
        return "conflict", None
    local = matching.mapping[user.id]
    return ("create", None) if local is None else ("map", local)


# --- same site ------------------------------------------------------------------------------


def test_1a_same_id_and_username_maps() -> None:
    target = _target()
    target.add_user("alice", "A", "L", "alice@elsewhere.test", id=10)
    assert _decide(target, _user(10, "alice", "alice@a.test"), same_site=True) == ("map", 10)


def test_1c_deleted_here_alive_in_backup_maps_by_username_like_email_case_insensitively() -> None:
    target = _target()
    target.add_user(f"bob@example.test.{DELETED_AT}", "B", "L", "", id=11, deleted=True)
    user = _user(11, "bob", "BOB@Example.test")
    assert _decide(target, user, same_site=True) == ("map", 11)


def test_1c_uses_the_first_89_characters_of_a_long_email() -> None:
    target = _target()
    email = "a" * 80 + "@example.test"  # 93 characters: delete_user() kept only 89 of them
    target.add_user(f"{email[:89]}.{DELETED_AT}", "B", "L", "", id=12, deleted=True)
    assert _decide(target, _user(12, "longmail", email), same_site=True) == ("map", 12)


def test_1c_or_by_email_equal_to_md5_of_the_username() -> None:
    target = _target()
    target.add_user(f"other@x.test.{DELETED_AT}", "B", "L", _md5("carl"), id=13, deleted=True)
    assert _decide(target, _user(13, "carl", "carl@new.test"), same_site=True) == ("map", 13)


def test_1c_needs_the_account_to_be_deleted_here() -> None:
    target = _target()
    target.add_user(f"dan@x.test.{DELETED_AT}", "D", "L", "dan@x.test", id=14)
    assert _decide(target, _user(14, "dan", "dan@x.test"), same_site=True) == ("create", None)


def test_1d_deleted_in_backup_alive_here_maps_by_email_without_the_timestamp() -> None:
    target = _target()
    target.add_user("erin", "E", "L", "Erin@Example.test", id=15)
    user = _user(15, f"erin@example.test.{DELETED_AT}", _md5("erin"), deleted=True)
    assert _decide(target, user, same_site=True) == ("map", 15)


def test_1d_needs_the_same_id() -> None:
    target = _target()
    target.add_user("erin", "E", "L", "erin@example.test", id=16)
    user = _user(99, f"erin@example.test.{DELETED_AT}", "", deleted=True)
    assert _decide(target, user, same_site=True) == ("create", None)


def test_1e_same_username_other_id_is_a_conflict() -> None:
    target = _target()
    target.add_user("fay", "F", "L", "fay@x.test", id=17)
    assert _decide(target, _user(40, "fay", "fay@x.test"), same_site=True) == ("conflict", None)


def test_1f_unknown_user_is_created() -> None:
    assert _decide(_target(), _user(41, "gus", "gus@x.test"), same_site=True) == ("create", None)


# --- other site -----------------------------------------------------------------------------


def test_2a1_same_username_and_email_case_insensitive_maps() -> None:
    target = _target()
    target.add_user("hana", "H", "L", "Hana@X.test", id=20)
    assert _decide(target, _user(3, "hana", "hana@x.TEST"), same_site=False) == ("map", 20)


def test_2a1_same_username_and_same_nonzero_firstaccess_maps() -> None:
    target = _target()
    target.add_user("ivan", "I", "L", "ivan@new.test", id=21, firstaccess=1234)
    user = _user(3, "ivan", "ivan@old.test", firstaccess=1234)
    assert _decide(target, user, same_site=False) == ("map", 21)


def test_2a2_admin_maps_to_admin_with_the_original_site_hash_when_allowed() -> None:
    target = _target()
    target.site.duplicate_admin_allowed = True
    target.add_user(f"admin_{OTHER_SITE_HASH}", "A", "O", "admin@old.test", id=22)
    user = _user(2, "admin", "admin@old.test")
    assert _decide(target, user, same_site=False) == ("map", 22)


def test_2a2_admin_conflict_plans_a_renamed_admin_when_allowed() -> None:
    target = _target()
    target.site.duplicate_admin_allowed = True
    matching = match_users(
        target, [_user(2, "admin", "admin@old.test")], same_site=False, site_hash=OTHER_SITE_HASH
    )
    assert (matching.problems, matching.mapping) == ([], {2: None})
    assert matching.renamed == {2: f"admin_{OTHER_SITE_HASH}"}


def test_2a2_admin_conflicts_when_not_allowed() -> None:
    user = _user(2, "admin", "admin@old.test")
    assert _decide(_target(), user, same_site=False) == ("conflict", None)


def test_2b1_deleted_here_email_md5_of_username_and_username_like_email_maps() -> None:
    target = _target()
    target.add_user(f"JUDE@x.test.{DELETED_AT}", "J", "L", _md5("jude"), id=23, deleted=True)
    assert _decide(target, _user(3, "jude", "jude@x.test"), same_site=False) == ("map", 23)


def test_2b1_or_email_md5_of_username_and_same_firstaccess() -> None:
    target = _target()
    target.add_user(
        f"old@x.test.{DELETED_AT}", "K", "L", _md5("kim"), id=24, deleted=True, firstaccess=555
    )
    user = _user(3, "kim", "kim@new.test", firstaccess=555)
    assert _decide(target, user, same_site=False) == ("map", 24)


def test_2b2_deleted_here_username_like_email_and_same_firstaccess_maps() -> None:
    target = _target()
    target.add_user(f"lea@x.test.{DELETED_AT}", "L", "L", "", id=25, deleted=True, firstaccess=777)
    user = _user(3, "lea", "Lea@X.test", firstaccess=777)
    assert _decide(target, user, same_site=False) == ("map", 25)


def test_2b2_needs_the_firstaccess_too() -> None:
    target = _target()
    target.add_user(f"lea@x.test.{DELETED_AT}", "L", "L", "", id=25, deleted=True, firstaccess=777)
    user = _user(3, "lea", "lea@x.test", firstaccess=778)
    assert _decide(target, user, same_site=False) == ("create", None)


def test_2c_deleted_in_backup_alive_here_maps_by_email_and_firstaccess() -> None:
    target = _target()
    target.add_user("max", "M", "L", "Max@X.test", id=26, firstaccess=999)
    user = _user(3, f"max@x.test.{DELETED_AT}", _md5("max"), firstaccess=999, deleted=True)
    assert _decide(target, user, same_site=False) == ("map", 26)


def test_2c_needs_a_nonzero_equal_firstaccess() -> None:
    target = _target()
    target.add_user("max", "M", "L", "max@x.test", id=26)
    user = _user(3, f"max@x.test.{DELETED_AT}", "", deleted=True)
    assert _decide(target, user, same_site=False) == ("create", None)


def test_2d_same_username_nothing_else_matching_is_a_conflict() -> None:
    target = _target()
    target.add_user("nina", "N", "L", "nina@new.test", id=27, firstaccess=1)
    user = _user(3, "nina", "nina@old.test", firstaccess=2)
    assert _decide(target, user, same_site=False) == ("conflict", None)


def test_2e_unknown_user_is_created() -> None:
    assert _decide(_target(), _user(3, "omar", "omar@x.test"), same_site=False) == ("create", None)


def test_force_different_site_checking_applies_the_other_site_rules() -> None:
    target = _target()
    target.site.force_different_site_checking = True
    target.add_user("pia", "P", "L", "pia@x.test", id=28)
    # same id and username (1A) would map; the other-site rules see a 2D conflict
    assert _decide(target, _user(28, "pia", "pia@y.test"), same_site=True) == ("conflict", None)


# --- through the restore --------------------------------------------------------------------


def _backup(users: tuple[UserSpec, ...], *, site_hash: str) -> bytes:
    spec = BackupSpec(
        course=CourseSpec(id=7, shortname="HIST1", fullname="Histoire 1"),
        site=SiteSpec(identifier_hash=site_hash),
        users=users,
        enrolments=(EnrolSpec(id=1, method="manual", user_ids=tuple(u.id for u in users)),),
        role_assignments=tuple(RoleAssignmentSpec(user_id=u.id, role_id=5) for u in users),
    )
    buffer = io.BytesIO()
    write_course_backup(buffer, spec=spec)
    return buffer.getvalue()


def test_restore_creates_the_renamed_admin_and_enrols_it() -> None:
    target = _target()
    target.site.duplicate_admin_allowed = True
    data = _backup(
        (UserSpec(id=2, username="admin", email="admin@old.test", firstname="A", lastname="O"),),
        site_hash=OTHER_SITE_HASH,
    )
    outcome = restore_backup(target, data, categoryid=1)
    assert outcome.exit_code == 0
    assert outcome.stdout.endswith(f"== Restored course ID: {outcome.courseid} ==")
    renamed = target.user_by_username[f"admin_{OTHER_SITE_HASH}"]
    assert outcome.courseid is not None
    assert target.courses[outcome.courseid].roles == {renamed: {(5, 0)}}


def test_restore_fails_on_a_1e_conflict_and_leaves_the_placeholder() -> None:
    target = _target()
    target.add_user("quinn", "Q", "L", "quinn@x.test", id=30)
    data = _backup(
        (UserSpec(id=31, username="quinn", email="quinn@x.test", firstname="Q", lastname="L"),),
        site_hash=_own_hash(target),
    )
    outcome = restore_backup(target, data, categoryid=1)
    assert outcome.exit_code == 1
    assert outcome.stdout.splitlines()[-1] == (
        "!!! Exception - error/restore_not_executable_awaiting_required !!!"
    )
    assert [c.visible for c in target.courses.values()] == [0]
