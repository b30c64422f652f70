"""``restore_dbops::precheck_user`` replayed on identity's copy of the target's accounts.

moodle.md §9, first match wins, every case: 1A–1F on the same site, 2A1–2E from another. Every
account is local (an empty or unknown ``mnethosturl`` is Moodle's fallback, the local host),
e-mails compare case-insensitively (``UPPER(a) = UPPER(b)``), usernames exactly. 1B maps an
anonymised backup user (``backup_anonymizer_helper::is_anonymous_user``: ``anonN``,
``anonfirstnameN``, ``anonlastnameN``, ``anonN@doesntexist.com``) by username alone. With the
target's ``backup | import_general_duplicate_admin_allowed`` on, 2A2 maps a backup's ``admin`` to
``admin_<original site hash>``, and ``precheck_included_users`` turns an ``admin`` that would
conflict into a new account of that name instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.identity.records import AccountFacts

DELETED_EMAIL_CHARS = 89  # delete_user() keeps 89 characters of the e-mail in the username
_TIMESTAMP_SUFFIX = re.compile(r"(.*?)\.[0-9]+.?$")


class Outcome(StrEnum):
    MAPS = "maps_to_existing"
    CREATES = "will_be_created"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class IncomingUser:
    id: int
    username: str
    email: str
    firstaccess: int
    deleted: bool
    firstname: str = ""
    lastname: str = ""


@dataclass(frozen=True)
class TargetSite:
    """What the target's restore knows beyond its accounts."""

    duplicate_admin_allowed: bool = False  # backup | import_general_duplicate_admin_allowed
    original_site_hash: str = ""  # the backup's original_site_identifier_hash


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    case: str
    account: AccountFacts | None = None


# backup_anonymizer_helper::is_anonymous_user; PHP's ``$`` also matches before a final newline,
# as Python's does, and its ``\d`` is ASCII
_ANON_USERNAME = re.compile(r"^anon\d*$", re.ASCII)
_ANON_FIRSTNAME = re.compile(r"^anonfirstname\d*$", re.ASCII)
_ANON_LASTNAME = re.compile(r"^anonlastname\d*$", re.ASCII)
_ANON_EMAIL = re.compile(r"^anon\d*@doesntexist\.com$", re.ASCII)
RENAMED_ADMIN = "admin_renamed"  # the case of an admin created under admin_<hash>


def is_anonymous(user: IncomingUser) -> bool:
    return all(
        pattern.search(value) is not None
        for pattern, value in (
            (_ANON_USERNAME, user.username),
            (_ANON_FIRSTNAME, user.firstname),
            (_ANON_LASTNAME, user.lastname),
            (_ANON_EMAIL, user.email),
        )
    )


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _same_access(local: AccountFacts, user: IncomingUser) -> bool:
    return local.firstaccess != 0 and local.firstaccess == user.firstaccess


def _like_deleted_username(username: str, email: str) -> bool:
    """``UPPER(username) LIKE UPPER('<89 chars of email>.%')``, unescaped as Moodle does it."""
    pattern = email[:DELETED_EMAIL_CHARS].upper() + ".%"
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, username.upper(), flags=re.DOTALL) is not None


def _email_cut_equals(email: str, deleted_username: str) -> bool:
    trimmed = _TIMESTAMP_SUFFIX.sub(r"\1", deleted_username, count=1)
    return email.upper()[:DELETED_EMAIL_CHARS] == trimmed.upper()


class TargetAccounts:
    def __init__(self, accounts: Sequence[AccountFacts]) -> None:
        live = [a for a in accounts if not a.deleted]
        self.by_id = {a.moodle_id: a for a in accounts}
        self.by_username = {a.username: a for a in sorted(live, key=lambda a: a.moodle_id)}
        # get_record('user', ['username' => ...]) in 1B and 2A2: any account, the first by id
        self.any_by_username: dict[str, AccountFacts] = {}
        for account in sorted(accounts, key=lambda a: a.moodle_id):
            self.any_by_username.setdefault(account.username, account)
        self.deleted = sorted((a for a in accounts if a.deleted), key=lambda a: a.moodle_id)
        self.all = sorted(accounts, key=lambda a: a.moodle_id)


def precheck(
    user: IncomingUser,
    target: TargetAccounts,
    *,
    same_site: bool,
    site: TargetSite = TargetSite(),  # frozen: one default shared safely
) -> Verdict:
    """``precheck_user``, then what ``precheck_included_users`` makes of a conflicting
    ``admin`` when the target allows duplicate admins: a new ``admin_<hash>`` account."""
    verdict = _same_site(user, target) if same_site else _other_site(user, target, site)
    if (
        verdict.outcome is Outcome.CONFLICT
        and site.duplicate_admin_allowed
        and user.username == "admin"
    ):
        return Verdict(Outcome.CREATES, RENAMED_ADMIN)
    return verdict


def _same_site(user: IncomingUser, target: TargetAccounts) -> Verdict:
    local = target.by_id.get(user.id)
    if local is not None and local.username == user.username:
        return Verdict(Outcome.MAPS, "1A", local)
    anonymous = target.any_by_username.get(user.username) if is_anonymous(user) else None
    if anonymous is not None:
        return Verdict(Outcome.MAPS, "1B", anonymous)
    if (
        local is not None
        and local.deleted
        and (
            _like_deleted_username(local.username, user.email)
            or (local.email != "" and local.email == _md5(user.username))
        )
    ):
        return Verdict(Outcome.MAPS, "1C", local)
    if user.deleted and local is not None and _email_cut_equals(local.email, user.username):
        return Verdict(Outcome.MAPS, "1D", local)
    holder = target.by_username.get(user.username)
    if holder is not None:
        return Verdict(Outcome.CONFLICT, "1E", holder)
    return Verdict(Outcome.CREATES, "1F")


def _other_site(user: IncomingUser, target: TargetAccounts, site: TargetSite) -> Verdict:
    holder = target.by_username.get(user.username)
    if holder is not None and (
        holder.email.upper() == user.email.upper() or _same_access(holder, user)
    ):
        return Verdict(Outcome.MAPS, "2A1", holder)
    if site.duplicate_admin_allowed and user.username == "admin" and site.original_site_hash:
        renamed = target.any_by_username.get(f"admin_{site.original_site_hash}")
        if renamed is not None:
            return Verdict(Outcome.MAPS, "2A2", renamed)
    for gone in target.deleted:
        if (
            gone.email != ""
            and gone.email == _md5(user.username)
            and (_like_deleted_username(gone.username, user.email) or _same_access(gone, user))
        ):
            return Verdict(Outcome.MAPS, "2B1", gone)
    for gone in target.deleted:
        if _like_deleted_username(gone.username, user.email) and _same_access(gone, user):
            return Verdict(Outcome.MAPS, "2B2", gone)
    if user.deleted:
        for candidate in target.all:
            if _email_cut_equals(candidate.email, user.username) and _same_access(candidate, user):
                return Verdict(Outcome.MAPS, "2C", candidate)
    if holder is not None:
        return Verdict(Outcome.CONFLICT, "2D", holder)
    return Verdict(Outcome.CREATES, "2E")


REASONS: dict[str, tuple[str, str]] = {
    "1A": (
        "same site: the same id and username exist here",
        "même site : même id et même identifiant ici",
    ),
    "1B": (
        "same site: an anonymised user, matched by its username",
        "même site : utilisateur anonymisé, reconnu par son identifiant",
    ),
    "1C": (
        "same site: the account was deleted here and comes back",
        "même site : compte supprimé ici, il est restauré",
    ),
    "1D": (
        "same site: deleted in the backup, alive here",
        "même site : supprimé dans la sauvegarde, actif ici",
    ),
    "1E": (
        "same site: the username belongs to another account here; the restore fails",
        "même site : l'identifiant appartient ici à un autre compte ; la restauration échoue",
    ),
    "1F": (
        "same site: no such account here; it will be created",
        "même site : aucun compte ici ; il sera créé",
    ),
    "2A1": (
        "the username exists here with the same e-mail (or first access)",
        "l'identifiant existe ici avec la même adresse (ou le même premier accès)",
    ),
    "2A2": (
        "the site allows duplicate admins: this admin maps to admin_<original site hash>",
        "le site accepte les administrateurs en double : cet admin correspond à "
        "admin_<empreinte du site d'origine>",
    ),
    RENAMED_ADMIN: (
        "the site allows duplicate admins: this admin will be created as "
        "admin_<original site hash>",
        "le site accepte les administrateurs en double : cet admin sera créé sous le nom "
        "admin_<empreinte du site d'origine>",
    ),
    "2B1": ("a deleted account here matches it", "un compte supprimé ici lui correspond"),
    "2B2": ("a deleted account here matches it", "un compte supprimé ici lui correspond"),
    "2C": (
        "deleted in the backup; an account here matches it",
        "supprimé dans la sauvegarde ; un compte ici lui correspond",
    ),
    "2D": (
        "the username exists here with another e-mail and first access; the restore fails "
        "(restoreuserconflict): give both accounts the same e-mail first",
        "l'identifiant existe ici avec une autre adresse et un autre premier accès ; la "
        "restauration échoue (restoreuserconflict) : donner d'abord la même adresse aux "
        "deux comptes",
    ),
    "2E": (
        "no account here has this username; it will be created",
        "aucun compte ici n'a cet identifiant ; il sera créé",
    ),
}
