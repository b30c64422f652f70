"""Accounts to persons: exact keys strongest first, then fuzzy names inside blocks.

Strong keys (INE, supannEtuId, supannEmpId, labelled supannRefId in ``idnumber``) are applied
as they are: a name that differs is drift, reported as a conflict. Weak keys (username ↔ uid or
ePPN, e-mail, e-mail local part) are applied only when the names agree, because a username or
an address can belong to two persons on two platforms. What is left is compared by name, one
block per folded surname token, with rapidfuzz's ``process.cdist``; a fuzzy link is applied
only with a clear margin over the next person and some evidence beyond the name (the e-mail or
the username resembles the person's); anything weaker is a proposal, never applied alone.
"""

from __future__ import annotations

import gc
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import count, cycle, repeat

import numpy as np
from rapidfuzz import fuzz, process

from services.identity.names import (
    email_local_part,
    fold,
    full_name_key,
    given_score,
    name_tokens,
    surname_score,
)
from services.identity.records import (
    AccountFacts,
    DirectoryEntry,
    LinkDecision,
    LinkMethod,
    LinkStatus,
)


@dataclass(frozen=True)
class Thresholds:
    given: float = 85.0  # names "agree" when the given names score this much ...
    surname: float = 80.0  # ... and the surnames this much (token sets: compound names)
    auto: float = 92.0  # a fuzzy link is applied from this score ...
    margin: float = 4.0  # ... when the next person scores this much lower ...
    evidence: float = 85.0  # ... and the e-mail or username resembles the person's
    propose: float = 75.0  # below this a fuzzy candidate is not worth an administrator's look


DEFAULT_THRESHOLDS = Thresholds()


def _unique(values: Iterable[tuple[str, int]]) -> dict[str, int]:
    """value → person, without the values two persons share (they identify nobody)."""
    pairs = {pair for pair in values if pair[0]}  # a person giving one value twice is one
    index = dict(pairs)
    if len(index) != len(pairs):
        for value, count in Counter(value for value, _ in pairs).items():
            if count > 1:
                del index[value]
    return index


def _unique_column(values: list[str], width: int = 0) -> dict[str, int]:
    """The same for values given by position: person = position, or position % ``width`` when
    several columns are laid end to end (a person then gives each value once)."""
    persons = cycle(range(width)) if width else count()
    # one C loop (the persons never run out); the last one wins, as a duplicate goes anyway
    index = dict(zip(values, persons, strict=False))
    index.pop("", None)
    if len(index) != len(values) - values.count(""):
        for value, times in Counter(values).items():
            if times > 1 and value:
                del index[value]
    return index


def _applied(person: int, method: LinkMethod, reason: str) -> LinkDecision:
    return LinkDecision(person, method, 100.0, LinkStatus.APPLIED, reason)


# ``LinkDecision._make`` without its Python frame: a directory has a strong key per person
_make_decision = partial(tuple.__new__, LinkDecision)


def _decided(index: dict[str, int], method: LinkMethod, reason: str) -> dict[str, LinkDecision]:
    """value → the applied decision for its person, every tuple made in C loops."""
    fields = zip(
        index.values(), repeat(method), repeat(100.0), repeat(LinkStatus.APPLIED), repeat(reason)
    )
    return dict(zip(index.keys(), map(_make_decision, fields), strict=True))


class DirectoryIndex:
    """The directory's keys, each mapping a normalised value to one person.

    The identifiers an ``idnumber`` may hold map straight to their decision, made once per
    value and shared by every account that carries it: one table for all of them, the
    strongest kept when two kinds share a value (INE values under their upper case, so that a
    digit-only ``idnumber``, the common case, needs one look-up). The fuzzy stage's blocks and
    name keys are built only when some account is left for it.
    """

    def __init__(self, persons: Sequence[DirectoryEntry]) -> None:
        self.persons = persons
        refs = [
            (value.strip(), label, i)
            for i, p in enumerate(persons)
            if p.ref_ids
            for label, value in p.labelled_ids()
        ]
        self.ref = _unique((value, i) for value, _, i in refs)
        self.ref_label = {value: label for value, label, _ in refs}
        strong = {
            value: _applied(person, LinkMethod.REF_ID, _labelled(_REF, self.ref_label[value]))
            for value, person in self.ref.items()
        }
        emp = _unique_column([p.emp_id.strip() for p in persons])
        strong.update(_decided(emp, LinkMethod.EMP_ID, _EMP))
        strong.update(
            _decided(_unique_column([p.etu_id.strip() for p in persons]), LinkMethod.ETU_ID, _ETU)
        )
        self.ine = _decided(
            _unique_column([p.ine.strip().upper() for p in persons]), LinkMethod.INE, _INE
        )
        strong.update(self.ine)
        self.strong = strong
        uids = [p.uid.strip().lower() for p in persons]
        eppns = [p.eppn.strip().lower() for p in persons]
        eppns = [e if e != u else "" for u, e in zip(uids, eppns, strict=True)]
        self.login = _unique_column(uids + eppns, width=len(persons))
        mails = [p.mail.strip().lower() for p in persons]
        self.mail = _unique_column(mails)
        self.mail_local = _unique_column([_local_part(m) for m in mails])
        self._blocks: dict[str, list[int]] | None = None
        self._name_keys: dict[int, str] = {}

    @property
    def blocks(self) -> dict[str, list[int]]:
        """Persons by folded surname token and given name's initial, in directory order.

        Persons are grouped by (surname, initial) first: a directory has far fewer distinct
        surnames than persons, and each is folded and split once."""
        if self._blocks is None:
            initials = {g: _initial(g) for g in {p.given_name for p in self.persons}}
            groups: dict[tuple[str, str], list[int]] = defaultdict(list)
            for i, p in enumerate(self.persons):
                groups[p.sn, initials[p.given_name]].append(i)
            blocks: dict[str, list[int]] = defaultdict(list)
            for (sn, initial), members in groups.items():
                for token in set(name_tokens(sn)):
                    blocks[f"{token} {initial}"].extend(members)
            for members in blocks.values():
                members.sort()
            self._blocks = blocks
        return self._blocks

    def name_keys(self, persons: list[int]) -> list[str]:
        keys, entries = self._name_keys, self.persons
        for p in persons:
            if p not in keys:
                keys[p] = full_name_key(entries[p].given_name, entries[p].sn)
        return [keys[p] for p in persons]


_INE = "idnumber = supannCodeINE"
_ETU = "idnumber = supannEtuId"
_EMP = "idnumber = supannEmpId"
_REF = "idnumber = a supannRefId value"
_REF_LOGIN = "username = a supannRefId value"
_PLAIN_LOCAL = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")


def _labelled(reason: str, label: str) -> str:
    return f"{reason} ({{{label}}})" if label else reason


def _local_part(email: str) -> str:
    """``email_local_part`` of a stripped, lower-cased address; most (``jean.dupont2``) are
    already folded, and are returned without folding them again."""
    local = email.partition("@")[0]
    return local if _PLAIN_LOCAL.fullmatch(local) else email_local_part(email)


def _initial(given: str) -> str:
    tokens = name_tokens(given)
    return tokens[0][:1] if tokens else ""


def account_blocks(account: AccountFacts) -> set[str]:
    """The blocks an account is compared in: each surname token with the given name's initial,
    and the same with the names the other way round (platforms that swapped them)."""
    keys = {f"{t} {_initial(account.firstname)}" for t in name_tokens(account.lastname)}
    keys |= {f"{t} {_initial(account.lastname)}" for t in name_tokens(account.firstname)}
    return keys


def cdist_workers(pairs: int) -> int:
    """Threads only pay for themselves on large blocks: most blocks are a few hundred pairs."""
    return -1 if pairs >= 50_000 else 1


def names_agree(account: AccountFacts, person: DirectoryEntry, limits: Thresholds) -> bool:
    if name_tokens(account.firstname) == name_tokens(person.given_name) and name_tokens(
        account.lastname
    ) == name_tokens(person.sn):
        return True  # the same once folded: most accounts, no scoring needed

    def agree(first: str, last: str) -> bool:
        return (
            given_score(first, person.given_name) >= limits.given
            and surname_score(last, person.sn) >= limits.surname
        )

    # some platforms hold the names the wrong way round ("DUPONT" in firstname)
    return agree(account.firstname, account.lastname) or agree(account.lastname, account.firstname)


_WeakKey = tuple[LinkMethod, int, str]
_BY_LOGIN = "username = uid or ePPN"
_BY_MAIL = "e-mail = mail"
_BY_LOCAL = "e-mail local part"
_AGREED = {
    method: f"{reason}, names agree"
    for method, reason in (
        (LinkMethod.USERNAME, _BY_LOGIN),
        (LinkMethod.EMAIL, _BY_MAIL),
        (LinkMethod.EMAIL_LOCAL, _BY_LOCAL),
    )
}


def _exact_pass(
    accounts: Sequence[AccountFacts], index: DirectoryIndex, limits: Thresholds
) -> tuple[list[LinkDecision | None], list[int]]:
    """Every account's exact-key decision (None when no key holds), and the positions left.

    One loop and no helper call on the common paths — a strong key in ``idnumber`` (its
    decision shared, nothing made for the account), or weak keys that all name one person whose
    names fold to the same tokens. Normalised values live only while their account is looked at.
    """
    strong, ine, ref, ref_label = index.strong.get, index.ine.get, index.ref, index.ref_label
    login, mail, local_of = index.login.get, index.mail.get, index.mail_local.get
    persons = index.persons
    decisions: list[LinkDecision | None] = [None] * len(accounts)
    pending: list[int] = []
    for position, account in enumerate(accounts):
        idnumber = account.idnumber.strip()
        if idnumber:
            # INE first: a mixed-case idnumber is compared upper-cased to INE values only
            hit = (
                strong(idnumber)
                if idnumber.isdigit()
                else ine(idnumber.upper()) or strong(idnumber)
            )
            if hit is not None:
                decisions[position] = hit
                continue
        username = account.username.strip().lower()
        if ref:
            person = ref.get(username)
            if person is not None:
                reason = _labelled(_REF_LOGIN, ref_label.get(username, "?"))
                decisions[position] = _applied(person, LinkMethod.REF_ID, reason)
                continue
        email = account.email.strip().lower()
        by_login = login(username)
        by_mail = mail(email) if email else None
        # an address that is a person's names that person's local part, or none (shared):
        # the local part can only add something when the whole address found nobody
        by_local = local_of(_local_part(email)) if email and by_mail is None else None
        first = by_login if by_login is not None else by_mail if by_mail is not None else by_local
        if first is None:
            pending.append(position)
            continue
        if (
            (by_mail is None or by_mail == first)
            and (by_local is None or by_local == first)
            and (by_login is None or by_login == first)
        ):
            decision = None
            entry = persons[first]
            if (
                name_tokens(account.firstname) == name_tokens(entry.given_name)
                and name_tokens(account.lastname) == name_tokens(entry.sn)
            ) or names_agree(account, entry, limits):
                method = (
                    LinkMethod.USERNAME
                    if by_login is not None
                    else LinkMethod.EMAIL
                    if by_mail is not None
                    else LinkMethod.EMAIL_LOCAL
                )
                decision = _applied(first, method, _AGREED[method])
        else:
            found: list[_WeakKey] = [
                (method, person, reason)
                for method, person, reason in (
                    (LinkMethod.USERNAME, by_login, _BY_LOGIN),
                    (LinkMethod.EMAIL, by_mail, _BY_MAIL),
                    (LinkMethod.EMAIL_LOCAL, by_local, _BY_LOCAL),
                )
                if person is not None
            ]
            decision = _weak_decision(_agreeing(account, found, persons, limits))
        if decision is None:
            pending.append(position)
        else:
            decisions[position] = decision
    return decisions, pending


def _agreeing(
    account: AccountFacts,
    found: list[_WeakKey],
    persons: Sequence[DirectoryEntry],
    limits: Thresholds,
) -> list[_WeakKey]:
    agreeing: dict[int, bool] = {}
    for _, person, _ in found:
        if person not in agreeing:
            agreeing[person] = names_agree(account, persons[person], limits)
    return [key for key in found if agreeing[key[1]]]


def _weak_decision(weak: list[_WeakKey]) -> LinkDecision | None:
    """Weak keys the names confirm. When they name different persons (homonyms whose logins
    differ by a digit), the full e-mail wins: a login is built from the name, an address is
    given to one person; any other disagreement waits for an administrator."""
    if not weak:
        return None
    persons = {person for _, person, _ in weak}
    method, person, reason = weak[0]
    if len(persons) == 1:
        return _applied(person, method, f"{reason}, names agree")
    by_mail = [w for w in weak if w[0] is LinkMethod.EMAIL]
    if by_mail:
        method, person, reason = by_mail[0]
        return _applied(
            person, method, f"{reason}, names agree; the username is another person's uid"
        )
    why = f"{reason}, but other keys name another person"
    return LinkDecision(person, method, 90.0, LinkStatus.PROPOSED, why)


def _evidence(account: AccountFacts, person: DirectoryEntry) -> float:
    """How much the account's e-mail or username resembles the person's (0–100)."""
    local = email_local_part(account.email).replace(".", " ")
    theirs = email_local_part(person.mail).replace(".", " ")
    by_mail = fuzz.token_set_ratio(local, theirs) if local and theirs else 0.0
    login = account.username.lower()
    by_login = fuzz.partial_ratio(person.uid.lower(), login) if person.uid and login else 0.0
    return float(max(by_mail, by_login))


def _fuzzy_candidates(
    pending: list[AccountFacts],
    index: DirectoryIndex,
    limits: Thresholds,
    *,
    workers: int = -1,
) -> dict[int, dict[int, float]]:
    """For each pending account (by slot), the persons its blocks offer and their scores."""
    by_block = _by_block(pending, index)
    keys = [full_name_key(a.firstname, a.lastname) for a in pending]
    offered: dict[int, dict[int, float]] = defaultdict(dict)
    for token, slots in by_block.items():
        persons = index.blocks[token]
        scores = process.cdist(
            [keys[s] for s in slots],
            index.name_keys(persons),
            scorer=fuzz.token_set_ratio,
            score_cutoff=limits.propose,
            workers=workers if workers != -1 else cdist_workers(len(slots) * len(persons)),
            dtype=np.uint8,
        )
        rows, columns = np.nonzero(scores)
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            offered[slots[row]][persons[column]] = float(scores[row, column])
    return offered


def _by_block(pending: list[AccountFacts], index: DirectoryIndex) -> dict[str, list[int]]:
    """The pending accounts (by slot) of every block that holds some person."""
    blocks = index.blocks
    by_block: dict[str, list[int]] = defaultdict(list)
    for slot, account in enumerate(pending):
        for token in account_blocks(account):
            if token in blocks:
                by_block[token].append(slot)
    return by_block


def _fuzzy_decision(
    account: AccountFacts,
    offered: dict[int, float],
    index: DirectoryIndex,
    limits: Thresholds,
) -> LinkDecision:
    """The best-named person is applied when no other person comes within the margin, or
    when, among those that do (homonyms), only it resembles the account's e-mail or login."""
    ranked = sorted(offered.items(), key=lambda item: (-item[1], item[0]))
    best, score = ranked[0]
    contenders = [(p, s) for p, s in ranked if s >= score - limits.margin]
    evidence = {p: _evidence(account, index.persons[p]) for p, _ in contenders}
    ahead = max(contenders, key=lambda c: (evidence[c[0]], c[1]))
    others = [evidence[p] for p, _ in contenders if p != ahead[0]]
    distinct = not others or max(others) <= evidence[ahead[0]] - 10.0
    chosen, chosen_score = ahead if distinct else (best, score)
    entry = index.persons[chosen]
    seen = evidence[chosen]
    # a login or address that is exactly the person's excuses a typo in a short given name
    close = names_agree(account, entry, limits) or (seen == 100.0 and chosen_score >= 85.0)
    applied = (
        distinct
        and chosen_score >= limits.auto - 7.0 * (seen == 100.0)
        and close
        and seen >= limits.evidence
    )
    reason = (
        f"names score {chosen_score:.0f} ({len(contenders) - 1} other person(s) within "
        f"{limits.margin:.0f}), e-mail/username resemblance {seen:.0f}"
    )
    status = LinkStatus.APPLIED if applied else LinkStatus.PROPOSED
    return LinkDecision(chosen, LinkMethod.FUZZY_NAME, chosen_score, status, reason)


def link_accounts(
    persons: Sequence[DirectoryEntry],
    accounts: Sequence[AccountFacts],
    *,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    workers: int = -1,
) -> list[LinkDecision | None]:
    """One entry per account, in account order: its decision (applied or proposed), or None
    when no person was found."""
    with _no_cycle_collection():
        index = DirectoryIndex(persons)
        decisions, pending = _exact_pass(accounts, index, limits)
        left = [accounts[p] for p in pending]
        for slot, offered in _fuzzy_candidates(left, index, limits, workers=workers).items():
            decisions[pending[slot]] = _fuzzy_decision(left[slot], offered, index, limits)
    return decisions


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Linking makes hundreds of thousands of tuples and no reference cycle: the cyclic
    collector, left on, would walk every loaded account several times for nothing (a sixth of
    the linking time at 400,000 accounts). Reference counting still frees what dies."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fuzzy_blocks(
    persons: Sequence[DirectoryEntry], accounts: Sequence[AccountFacts]
) -> list[tuple[list[str], list[str]]]:
    """The (account names, person names) of every block the fuzzy stage would compare, for
    the benchmark's baseline: the same comparisons made by ``process.cdist`` alone."""
    index = DirectoryIndex(persons)
    _, pending = _exact_pass(accounts, index, DEFAULT_THRESHOLDS)
    left = [accounts[p] for p in pending]
    keys = [full_name_key(a.firstname, a.lastname) for a in left]
    return [
        ([keys[s] for s in slots], index.name_keys(index.blocks[token]))
        for token, slots in _by_block(left, index).items()
    ]


__all__ = ["DEFAULT_THRESHOLDS", "Thresholds", "fold", "link_accounts", "names_agree"]
