"""Conflicts between accounts and persons, each with its kind, accounts and a suggested fix.

Computed from the accounts and their accepted links alone, so that the same function serves
the stored analysis and the generated population's known answer. Restore blockers follow the
other-site rules of ``restore_dbops::precheck_user`` (moodle.md §9): the ones a migration meets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.identity.names import name_tokens
from services.identity.records import AccountFacts, DirectoryEntry

AccountRef = tuple[str, int]  # (platform, moodle id)
SYSTEM_USERNAMES = frozenset({"guest"})


class ConflictKind(StrEnum):
    USERNAME_SHARED = "username_shared"
    USERNAME_MULTIPLE = "username_multiple"
    EMAIL_DRIFT = "email_drift"
    NAME_DRIFT = "name_drift"
    PLATFORM_DUPLICATE = "platform_duplicate"
    NO_PERSON = "no_person"
    RESTORE_CONFLICT = "restore_conflict"
    RESTORE_DUPLICATE = "restore_duplicate"


@dataclass(frozen=True)
class Finding:
    kind: ConflictKind
    key: tuple[object, ...]  # what makes it this conflict and no other (stable across runs)
    accounts: tuple[AccountRef, ...]
    person: int | None
    suggestion: str
    suggestion_fr: str

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(sorted({platform for platform, _ in self.accounts}))


@dataclass(frozen=True)
class Linked:
    """The accounts and, for each, the index of its accepted person (None: unlinked)."""

    persons: Sequence[DirectoryEntry]
    accounts: Sequence[AccountFacts]
    person_of: Sequence[int | None]
    proposed: frozenset[int] = frozenset()  # accounts with a proposal waiting for a decision

    def by_person(self) -> dict[int, list[AccountFacts]]:
        grouped: dict[int, list[AccountFacts]] = defaultdict(list)
        for account, person in zip(self.accounts, self.person_of, strict=True):
            if person is not None:
                grouped[person].append(account)
        return grouped


def _ref(account: AccountFacts) -> AccountRef:
    return (account.platform, account.moodle_id)


def _shared_usernames(linked: Linked) -> Iterator[Finding]:
    holders: dict[str, list[tuple[AccountFacts, int]]] = defaultdict(list)
    for account, person in zip(linked.accounts, linked.person_of, strict=True):
        if person is not None:
            holders[account.username.lower()].append((account, person))
    for username, held in holders.items():
        persons = {person for _, person in held}
        if len(persons) < 2:
            continue
        owner = next((p for p in persons if linked.persons[p].uid.lower() == username), None)
        who = linked.persons[owner].uid if owner is not None else "nobody's uid"
        yield Finding(
            ConflictKind.USERNAME_SHARED,
            (username,),
            tuple(sorted(_ref(a) for a, _ in held)),
            owner,
            f"'{username}' is the uid of {who}: rename the other persons' accounts to their uid",
            f"« {username} » est l'uid de {who} : renommer les comptes des autres personnes "
            "selon leur uid",
        )


def _multiple_usernames(linked: Linked) -> Iterator[Finding]:
    for person, accounts in linked.by_person().items():
        usernames = {a.username.lower() for a in accounts}
        if len(usernames) < 2:
            continue
        uid = linked.persons[person].uid
        yield Finding(
            ConflictKind.USERNAME_MULTIPLE,
            (uid,),
            tuple(sorted(_ref(a) for a in accounts)),
            person,
            f"rename every account to the directory uid '{uid}' (homogenisation plan)",
            f"renommer chaque compte selon l'uid de l'annuaire « {uid} » (plan d'homogénéisation)",
        )


def _drifts(linked: Linked) -> Iterator[Finding]:
    for account, person in zip(linked.accounts, linked.person_of, strict=True):
        if person is None:
            continue
        entry = linked.persons[person]
        if account.email.strip().lower() != entry.mail.strip().lower():
            yield Finding(
                ConflictKind.EMAIL_DRIFT,
                _ref(account),
                (_ref(account),),
                person,
                "set the e-mail to the directory's mail (homogenisation plan)",
                "remplacer l'adresse par celle de l'annuaire (plan d'homogénéisation)",
            )
        theirs = sorted(name_tokens(entry.given_name) + name_tokens(entry.sn))
        if sorted(name_tokens(account.firstname) + name_tokens(account.lastname)) != theirs:
            yield Finding(
                ConflictKind.NAME_DRIFT,
                _ref(account),
                (_ref(account),),
                person,
                "set the names to the directory's givenName and sn (homogenisation plan)",
                "remplacer les noms par givenName et sn de l'annuaire (plan d'homogénéisation)",
            )


def account_to_keep(accounts: Sequence[AccountFacts], uid: str) -> AccountFacts:
    """Of one person's accounts on one platform, the one a merge keeps: the directory's login,
    else the most recently used, else the oldest."""
    return min(
        accounts,
        key=lambda a: (a.username.lower() != uid.lower(), -a.lastaccess, a.moodle_id),
    )


def _platform_duplicates(linked: Linked) -> Iterator[Finding]:
    for person, accounts in linked.by_person().items():
        per_platform: dict[str, list[AccountFacts]] = defaultdict(list)
        for account in accounts:
            per_platform[account.platform].append(account)
        uid = linked.persons[person].uid
        for platform, twins in per_platform.items():
            if len(twins) < 2:
                continue
            keep = account_to_keep(twins, uid)
            merged = ", ".join(str(a.moodle_id) for a in twins if a is not keep)
            yield Finding(
                ConflictKind.PLATFORM_DUPLICATE,
                (platform, uid),
                tuple(sorted(_ref(a) for a in twins)),
                person,
                f"on {platform}, merge user(s) {merged} into user {keep.moodle_id} "
                "with tool_mergeusers (keeps the latter)",
                f"sur {platform}, fusionner le(s) compte(s) {merged} dans le compte "
                f"{keep.moodle_id} avec tool_mergeusers (ce dernier est conservé)",
            )


def _unknown(linked: Linked) -> Iterator[Finding]:
    for position, (account, person) in enumerate(
        zip(linked.accounts, linked.person_of, strict=True)
    ):
        if person is not None or position in linked.proposed or account.deleted:
            continue
        if account.username.lower() in SYSTEM_USERNAMES:
            continue
        yield Finding(
            ConflictKind.NO_PERSON,
            _ref(account),
            (_ref(account),),
            None,
            "no person in the directory: link it by hand, or leave it out of migrations",
            "aucune personne dans l'annuaire : le relier à la main, ou l'écarter des migrations",
        )


def restore_blockers(linked: Linked, *, target: str) -> Iterator[Finding]:
    on_target = {
        a.username: (a, p)
        for a, p in zip(linked.accounts, linked.person_of, strict=True)
        if a.platform == target and not a.deleted
    }
    target_persons = {
        p
        for a, p in zip(linked.accounts, linked.person_of, strict=True)
        if a.platform == target and not a.deleted and p is not None
    }
    for account, person in zip(linked.accounts, linked.person_of, strict=True):
        if account.platform == target or account.deleted:
            continue
        held = on_target.get(account.username)
        if held is not None:
            there = held[0]
            same_access = there.firstaccess != 0 and there.firstaccess == account.firstaccess
            if there.email.lower() != account.email.lower() and not same_access:
                yield Finding(
                    ConflictKind.RESTORE_CONFLICT,
                    _ref(account),
                    (_ref(account), _ref(there)),
                    person,
                    f"'{account.username}' exists on {target} with another e-mail: a restore "
                    "fails (case 2D); give both accounts the same e-mail first",
                    f"« {account.username} » existe sur {target} avec une autre adresse : la "
                    "restauration échoue (cas 2D) ; donner d'abord la même adresse aux deux",
                )
        elif person is not None and person in target_persons:
            yield Finding(
                ConflictKind.RESTORE_DUPLICATE,
                _ref(account),
                (_ref(account),),
                person,
                f"this person has another username on {target}: a restore creates a second "
                "account (case 2E); rename it to the directory uid first",
                f"cette personne a un autre identifiant sur {target} : la restauration crée un "
                "second compte (cas 2E) ; le renommer d'abord selon l'uid de l'annuaire",
            )


def find_conflicts(linked: Linked, *, target: str | None) -> list[Finding]:
    found = [
        *_shared_usernames(linked),
        *_multiple_usernames(linked),
        *_drifts(linked),
        *_platform_duplicates(linked),
        *_unknown(linked),
    ]
    if target is not None:
        found.extend(restore_blockers(linked, target=target))
    return found
