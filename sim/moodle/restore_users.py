"""Restore user matching: ``restore_dbops::precheck_user`` and ``precheck_included_users``.

Every case of reference §9: same site 1A, 1B, 1C, 1D, 1E, 1F and other site 2A1, 2A2, 2B1,
2B2, 2C, 2D, 2E, first match wins. 1B is ``backup_anonymizer_helper::is_anonymous_user``: a
user the backup anonymised (``anonN``, ``anonfirstnameN``, ``anonlastnameN``,
``anonN@doesntexist.com``) maps to the account of that username, whatever its id (MDL-31484).
The comparisons are Moodle's SQL:
``UPPER(a) = UPPER(b)`` for e-mails, ``UPPER(username) LIKE UPPER('<e-mail, 89 chars>.%')``
for the usernames of deleted accounts (``delete_user`` stores ``<email>.<time>`` there, cut to
the 100-character column, and sometimes md5(username) in the e-mail), and exact, case-sensitive
usernames. The LIKE pattern is not escaped by Moodle, so ``_`` and ``%`` in an e-mail are
wildcards here too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sim.moodle.archive import int_of, text_of
from sim.moodle.entities import User
from sim.moodle.platform import Platform

# Moodle's $CFG->mnet_localhost_id; the simulator has no mnet_host table, so every backup user
# takes Moodle's fallback for an unknown host: the local one.
LOCAL_MNETHOST = 1
# the username column keeps 100 characters; delete_user() appends '.' and a 10-digit time
DELETED_EMAIL_CHARS = 89
_TIMESTAMP_SUFFIX = re.compile(r"(.*?)\.[0-9]+.?$")


@dataclass(frozen=True)
class BackupUser:
    id: int
    username: str
    email: str
    firstname: str
    lastname: str
    idnumber: str
    auth: str
    firstaccess: int
    deleted: bool
    mnethostid: int = LOCAL_MNETHOST


@dataclass
class Matching:
    """Backup user id -> local user id, or None when the user is to be created."""

    mapping: dict[int, int | None] = field(default_factory=dict)
    # users created under another username (2A2: admin -> admin_<original site hash>)
    renamed: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def backup_users(platform: Platform, root: Any) -> list[BackupUser]:
    if root is None:
        return []
    return [
        BackupUser(
            int(u.get("id")),
            text_of(u, "username"),
            text_of(u, "email"),
            text_of(u, "firstname"),
            text_of(u, "lastname"),
            text_of(u, "idnumber"),
            text_of(u, "auth", "manual"),
            int_of(u, "firstaccess"),
            text_of(u, "deleted", "0") != "0",
            _mnethostid(platform, text_of(u, "mnethosturl")),
        )
        for u in root.findall("user")
    ]


def _mnethostid(platform: Platform, url: str) -> int:
    # The simulator has no mnet_host table: an empty, local or unknown host is the local one,
    # which is Moodle's own fallback (restore_dbops::precheck_included_users).
    del platform, url
    return LOCAL_MNETHOST


def match_users(
    platform: Platform, users: list[BackupUser], *, same_site: bool, site_hash: str
) -> Matching:
    """``precheck_included_users`` for a restore run as the site administrator."""
    matcher = _Matcher(platform, same_site=same_site, site_hash=site_hash)
    duplicate_admin = platform.site.duplicate_admin_allowed
    can_create = not platform.site.disable_user_creation_on_restore
    matching = Matching()
    for user in users:
        found = matcher.precheck(user)
        if isinstance(found, User):
            matching.mapping[user.id] = found.id
        elif found is False and duplicate_admin and user.username == "admin":
            _plan_renamed_admin(matching, user, site_hash, can_create=can_create)
        elif found is False:
            matching.problems.append(f"restoreuserconflict: {user.username}")
        elif can_create:
            matching.mapping[user.id] = None
        else:
            matching.problems.append(f"restorecannotcreateuser: {user.username}")
    return matching


def _plan_renamed_admin(
    matching: Matching, user: BackupUser, site_hash: str, *, can_create: bool
) -> None:
    if not can_create:
        matching.problems.append(f"restorecannotcreateuser: {user.username}")
    if user.mnethostid != LOCAL_MNETHOST:
        matching.problems.append(f"restoremnethostidmismatch: {user.username}")
    if can_create and user.mnethostid == LOCAL_MNETHOST:
        matching.mapping[user.id] = None
        matching.renamed[user.id] = f"admin_{site_hash}"


class _Matcher:
    def __init__(self, platform: Platform, *, same_site: bool, site_hash: str) -> None:
        self.platform = platform
        self.same_site = same_site and not platform.site.force_different_site_checking
        self.site_hash = site_hash
        self._deleted: list[User] | None = None

    def precheck(self, user: BackupUser) -> User | bool:
        """A local user to map to, True to create, False for a conflict."""
        if self.same_site:
            return self._same_site(user)
        return self._other_site(user)

    def _same_site(self, user: BackupUser) -> User | bool:
        local = self.platform.users.get(user.id)
        by_id = local if local is not None and local.mnethostid == user.mnethostid else None
        if by_id is not None and by_id.username == user.username:
            return by_id  # 1A
        if _is_anonymous(user):
            local_id = self.platform.user_by_username.get(user.username)
            anonymous = None if local_id is None else self.platform.users.get(local_id)
            if anonymous is not None:
                return anonymous  # 1B: get_record('user', ['username' => ...]), any host
        if (
            by_id is not None
            and by_id.deleted
            and (
                _like_deleted_username(by_id.username, user.email)
                or (by_id.email != "" and by_id.email == _md5(user.username))
            )
        ):
            return by_id  # 1C
        if user.deleted and by_id is not None and _email_cut_equals(by_id.email, user.username):
            return by_id  # 1D
        # 1E: the username belongs to another id, a conflict (False); else 1F: create (True)
        return self._by_username(user) is None

    def _other_site(self, user: BackupUser) -> User | bool:
        same_name = self._by_username(user)
        if same_name is not None and (
            same_name.email.upper() == user.email.upper() or _same_first_access(same_name, user)
        ):
            return same_name  # 2A1
        admin = self._renamed_admin(user)
        if admin is not None:
            return admin  # 2A2
        for deleted in self._deleted_users(user.mnethostid):
            if (
                deleted.email != ""
                and deleted.email == _md5(user.username)
                and (
                    _like_deleted_username(deleted.username, user.email)
                    or _same_first_access(deleted, user)
                )
            ):
                return deleted  # 2B1
        for deleted in self._deleted_users(user.mnethostid):
            if _like_deleted_username(deleted.username, user.email) and _same_first_access(
                deleted, user
            ):
                return deleted  # 2B2
        if user.deleted:
            for candidate in self._users(user.mnethostid):
                if _email_cut_equals(candidate.email, user.username) and _same_first_access(
                    candidate, user
                ):
                    return candidate  # 2C
        # 2D: the username exists but nothing else matches, a conflict (False); else 2E: create
        return same_name is None

    def _by_username(self, user: BackupUser) -> User | None:
        local_id = self.platform.user_by_username.get(user.username)
        local = None if local_id is None else self.platform.users.get(local_id)
        return local if local is not None and local.mnethostid == user.mnethostid else None

    def _renamed_admin(self, user: BackupUser) -> User | None:
        if not (
            self.platform.site.duplicate_admin_allowed
            and user.username == "admin"
            and self.site_hash
            and user.mnethostid == LOCAL_MNETHOST
        ):
            return None
        local_id = self.platform.user_by_username.get(f"admin_{self.site_hash}")
        return None if local_id is None else self.platform.users.get(local_id)

    def _users(self, mnethostid: int) -> Iterator[User]:
        for local in sorted(self.platform.users.values(), key=lambda u: u.id):
            if local.mnethostid == mnethostid:
                yield local

    def _deleted_users(self, mnethostid: int) -> list[User]:
        # computed once per restore: a restore may check hundreds of users on a large site
        if self._deleted is None:
            self._deleted = sorted(
                (u for u in self.platform.users.values() if u.deleted), key=lambda u: u.id
            )
        return [u for u in self._deleted if u.mnethostid == mnethostid]


# PHP's preg ``$`` matches before a final newline too, as Python's does; ``\d`` is ASCII there
_ANONYMOUS = (
    ("username", re.compile(r"^anon\d*$", re.ASCII)),
    ("firstname", re.compile(r"^anonfirstname\d*$", re.ASCII)),
    ("lastname", re.compile(r"^anonlastname\d*$", re.ASCII)),
    ("email", re.compile(r"^anon\d*@doesntexist\.com$", re.ASCII)),
)


def _is_anonymous(user: BackupUser) -> bool:
    """``backup_anonymizer_helper::is_anonymous_user``."""
    return all(pattern.search(getattr(user, name)) is not None for name, pattern in _ANONYMOUS)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _same_first_access(local: User, user: BackupUser) -> bool:
    return local.firstaccess != 0 and local.firstaccess == user.firstaccess


def _like_deleted_username(username: str, email: str) -> bool:
    """``UPPER(username) LIKE UPPER('<first 89 chars of email>.%')``, unescaped like Moodle."""
    pattern = email[:DELETED_EMAIL_CHARS].upper() + ".%"
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, username.upper(), flags=re.DOTALL) is not None


def _email_cut_equals(email: str, deleted_username: str) -> bool:
    """``SUBSTR(UPPER(email), 1, 89) = UPPER(<backup username without its .timestamp>)``."""
    trimmed = _TIMESTAMP_SUFFIX.sub(r"\1", deleted_username, count=1)
    return email.upper()[:DELETED_EMAIL_CHARS] == trimmed.upper()
