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

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

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
_STRONG = (LinkMethod.INE, LinkMethod.ETU_ID, LinkMethod.EMP_ID, LinkMethod.REF_ID)


def _unique(pairs: Iterator[tuple[str, int]]) -> dict[str, int]:
    """value → person, without the values two persons share (they identify nobody)."""
    index: dict[str, int] = {}
    shared: set[str] = set()
    for value, person in pairs:
        if not value:
            continue
        known = index.setdefault(value, person)
        if known != person:
            shared.add(value)
    for value in shared:
        del index[value]
    return index


class DirectoryIndex:
    """The directory's keys, each mapping a normalised value to one person."""

    def __init__(self, persons: Sequence[DirectoryEntry]) -> None:
        self.persons = persons
        listed = list(enumerate(persons))
        self.ine = _unique((p.ine.strip().upper(), i) for i, p in listed)
        self.etu = _unique((p.etu_id.strip(), i) for i, p in listed)
        self.emp = _unique((p.emp_id.strip(), i) for i, p in listed)
        self.ref = _unique((v.strip(), i) for i, p in listed for _, v in p.labelled_ids())
        self.ref_label = {v.strip(): lab for p in persons for lab, v in p.labelled_ids()}
        logins = ((p.uid.strip().lower(), i) for i, p in listed)
        eppns = ((p.eppn.strip().lower(), i) for i, p in listed)
        self.login = _unique(_chain(logins, eppns))
        self.mail = _unique((p.mail.strip().lower(), i) for i, p in listed)
        self.mail_local = _unique((email_local_part(p.mail), i) for i, p in listed)
        self.blocks: dict[str, list[int]] = defaultdict(list)
        for i, p in listed:
            initial = _initial(p.given_name)
            for token in set(name_tokens(p.sn)):
                self.blocks[f"{token} {initial}"].append(i)
        self.name_keys = [full_name_key(p.given_name, p.sn) for p in persons]


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


def _chain(*iterators: Iterator[tuple[str, int]]) -> Iterator[tuple[str, int]]:
    for iterator in iterators:
        yield from iterator


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


_ID_KEYS = (
    (LinkMethod.INE, "ine", "idnumber = supannCodeINE"),
    (LinkMethod.ETU_ID, "etu", "idnumber = supannEtuId"),
    (LinkMethod.EMP_ID, "emp", "idnumber = supannEmpId"),
    (LinkMethod.REF_ID, "ref", "idnumber = a supannRefId value"),
)


def _strong_key(account: AccountFacts, index: DirectoryIndex) -> tuple[LinkMethod, int, str] | None:
    idnumber = account.idnumber.strip()
    if idnumber:
        for method, name, reason in _ID_KEYS:
            value = idnumber.upper() if method is LinkMethod.INE else idnumber
            person = getattr(index, name).get(value)
            if person is not None:
                label = index.ref_label.get(value, "") if method is LinkMethod.REF_ID else ""
                return method, person, f"{reason} ({{{label}}})" if label else reason
    if not index.ref:
        return None
    username = account.username.strip().lower()
    person = index.ref.get(username)
    if person is not None:
        label = index.ref_label.get(username, "?")
        return LinkMethod.REF_ID, person, f"username = a supannRefId value ({{{label}}})"
    return None


def _weak_keys(
    account: AccountFacts, index: DirectoryIndex
) -> Iterator[tuple[LinkMethod, int, str]]:
    username = account.username.strip().lower()
    email = account.email.strip().lower()
    person = index.login.get(username)
    if person is not None:
        yield LinkMethod.USERNAME, person, "username = uid or ePPN"
    person = index.mail.get(email) if email else None
    if person is not None:
        yield LinkMethod.EMAIL, person, "e-mail = mail"
    local = email_local_part(email) if email else ""
    person = index.mail_local.get(local) if local else None
    if person is not None:
        yield LinkMethod.EMAIL_LOCAL, person, "e-mail local part"


def _exact(
    position: int, account: AccountFacts, index: DirectoryIndex, limits: Thresholds
) -> LinkDecision | None:
    strong = _strong_key(account, index)
    if strong is not None:
        method, person, reason = strong
        return LinkDecision(position, person, method, 100.0, LinkStatus.APPLIED, reason)
    weak: list[tuple[LinkMethod, int, str]] = []
    agreeing: dict[int, bool] = {}
    for method, person, reason in _weak_keys(account, index):
        if person not in agreeing:
            agreeing[person] = names_agree(account, index.persons[person], limits)
        if agreeing[person]:
            weak.append((method, person, reason))
    return _weak_decision(position, weak)


def _weak_decision(position: int, weak: list[tuple[LinkMethod, int, str]]) -> LinkDecision | None:
    """Weak keys the names confirm. When they name different persons (homonyms whose logins
    differ by a digit), the full e-mail wins: a login is built from the name, an address is
    given to one person; any other disagreement waits for an administrator."""
    if not weak:
        return None
    persons = {person for _, person, _ in weak}
    method, person, reason = weak[0]
    if len(persons) == 1:
        return LinkDecision(
            position, person, method, 100.0, LinkStatus.APPLIED, f"{reason}, names agree"
        )
    by_mail = [w for w in weak if w[0] is LinkMethod.EMAIL]
    if by_mail:
        method, person, reason = by_mail[0]
        why = f"{reason}, names agree; the username is another person's uid"
        return LinkDecision(position, person, method, 100.0, LinkStatus.APPLIED, why)
    why = f"{reason}, but other keys name another person"
    return LinkDecision(position, person, method, 90.0, LinkStatus.PROPOSED, why)


def _evidence(account: AccountFacts, person: DirectoryEntry) -> float:
    """How much the account's e-mail or username resembles the person's (0–100)."""
    local = email_local_part(account.email).replace(".", " ")
    theirs = email_local_part(person.mail).replace(".", " ")
    by_mail = fuzz.token_set_ratio(local, theirs) if local and theirs else 0.0
    login = account.username.lower()
    by_login = fuzz.partial_ratio(person.uid.lower(), login) if person.uid and login else 0.0
    return float(max(by_mail, by_login))


def _fuzzy_candidates(
    pending: list[tuple[int, AccountFacts]],
    index: DirectoryIndex,
    limits: Thresholds,
    *,
    workers: int = -1,
) -> dict[int, dict[int, float]]:
    """For each pending account (by slot), the persons its blocks offer and their scores."""
    by_block: dict[str, list[int]] = defaultdict(list)
    for slot, (_, account) in enumerate(pending):
        for token in account_blocks(account):
            if token in index.blocks:
                by_block[token].append(slot)
    keys = [full_name_key(a.firstname, a.lastname) for _, a in pending]
    offered: dict[int, dict[int, float]] = defaultdict(dict)
    for token, slots in by_block.items():
        persons = index.blocks[token]
        scores = process.cdist(
            [keys[s] for s in slots],
            [index.name_keys[p] for p in persons],
            scorer=fuzz.token_set_ratio,
            score_cutoff=limits.propose,
            workers=workers if workers != -1 else cdist_workers(len(slots) * len(persons)),
            dtype=np.uint8,
        )
        rows, columns = np.nonzero(scores)
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            offered[slots[row]][persons[column]] = float(scores[row, column])
    return offered


def _fuzzy_decision(
    position: int,
    account: AccountFacts,
    offered: dict[int, float],
    index: DirectoryIndex,
    limits: Thresholds,
) -> LinkDecision:
    """The best-named person is applied when no other person comes within the margin, or
    when, among those that do (homonyms), only it resembles the account's e-mail or login."""
    ranked = sorted(offered.items(), key=lambda item: -item[1])
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
    return LinkDecision(position, chosen, LinkMethod.FUZZY_NAME, chosen_score, status, reason)


def link_accounts(
    persons: Sequence[DirectoryEntry],
    accounts: Sequence[AccountFacts],
    *,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    workers: int = -1,
) -> list[LinkDecision]:
    """One decision per account that found a person (applied or proposed), in account order."""
    index = DirectoryIndex(persons)
    decisions: dict[int, LinkDecision] = {}
    pending: list[tuple[int, AccountFacts]] = []
    for position, account in enumerate(accounts):
        decision = _exact(position, account, index, limits)
        if decision is None:
            pending.append((position, account))
        else:
            decisions[position] = decision
    for slot, offered in _fuzzy_candidates(pending, index, limits, workers=workers).items():
        position, account = pending[slot]
        decisions[position] = _fuzzy_decision(position, account, offered, index, limits)
    return [decisions[p] for p in sorted(decisions)]


def fuzzy_blocks(
    persons: Sequence[DirectoryEntry], accounts: Sequence[AccountFacts]
) -> list[tuple[list[str], list[str]]]:
    """The (account names, person names) of every block the fuzzy stage would compare, for
    the benchmark's baseline: the same comparisons made by ``process.cdist`` alone."""
    index = DirectoryIndex(persons)
    pending = [
        (p, a) for p, a in enumerate(accounts) if _exact(p, a, index, DEFAULT_THRESHOLDS) is None
    ]
    by_block: dict[str, list[str]] = defaultdict(list)
    for _, account in pending:
        key = full_name_key(account.firstname, account.lastname)
        for token in account_blocks(account):
            if token in index.blocks:
                by_block[token].append(key)
    return [
        (queries, [index.name_keys[p] for p in index.blocks[token]])
        for token, queries in by_block.items()
    ]


__all__ = ["DEFAULT_THRESHOLDS", "Thresholds", "fold", "link_accounts", "names_agree"]
