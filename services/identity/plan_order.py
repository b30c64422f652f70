"""Ordering a platform's account changes so that Moodle refuses none of them.

``core_user_update_users`` refuses an e-mail another account holds (``useremailduplicate``,
case-insensitive, unless ``allowaccountssameemail``) and a username another account holds
(the unique index on (mnethostid, username)). So a change waits for the account holding its new
value to move away; values that swap or turn in a cycle go through a temporary value first:
round 0 parks one account of each cycle, the later rounds follow the waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.identity.records import AccountFacts

UNIQUE_FIELDS = ("username", "email")
Values = dict[str, tuple[str, str]]  # field → (previous, new)


@dataclass(frozen=True)
class Change:
    moodle_id: int
    values: Values


@dataclass(frozen=True)
class Step:
    round: int
    moodle_id: int
    values: Values
    temporary: bool = False


@dataclass
class Ordered:
    steps: list[Step] = field(default_factory=list)
    blocked: list[tuple[Change, str, str]] = field(default_factory=list)  # change, en, fr


def normalise(name: str, value: str) -> str:
    return value.lower() if name == "email" else value


def temporary_value(name: str, *, tag: str, moodle_id: int) -> str:
    stem = f"fusion-tmp-{tag}-{moodle_id}"
    return f"{stem}@invalid.invalid" if name == "email" else stem


def _holders(accounts: Sequence[AccountFacts]) -> dict[str, dict[str, int]]:
    live = [a for a in accounts if not a.deleted]
    return {
        "username": {a.username: a.moodle_id for a in live},
        "email": {a.email.lower(): a.moodle_id for a in live if a.email},
    }


def _waits(
    changes: Sequence[Change], accounts: Sequence[AccountFacts], ordered: Ordered
) -> dict[int, set[int]]:
    """moodle id → the accounts it waits for; changes whose value nobody frees are blocked."""
    holders = _holders(accounts)
    moving = {c.moodle_id: c for c in changes}
    waits: dict[int, set[int]] = {}
    for change in changes:
        wanted: set[int] = set()
        problem = None
        for name in UNIQUE_FIELDS:
            if name not in change.values:
                continue
            new = normalise(name, change.values[name][1])
            holder = holders[name].get(new)
            if holder is None or holder == change.moodle_id:
                continue
            theirs = moving.get(holder)
            if theirs is None or normalise(name, theirs.values.get(name, ("", new))[1]) == new:
                problem = (name, holder)
                break
            wanted.add(holder)
        if problem is None:
            waits[change.moodle_id] = wanted
        else:
            name, holder = problem
            ordered.blocked.append(
                (
                    change,
                    f"the {name} is held by account {holder}, which this plan does not change: "
                    "merge or rename that account first",
                    f"le champ {name} est pris par le compte {holder}, que ce plan ne modifie "
                    "pas : fusionner ou renommer ce compte d'abord",
                )
            )
    return _drop_blocked(waits)


def _drop_blocked(waits: dict[int, set[int]]) -> dict[int, set[int]]:
    """A change waiting for a blocked one is blocked too: its value is never freed."""
    changed = True
    while changed:
        changed = False
        for moodle_id, wanted in list(waits.items()):
            if any(w not in waits for w in wanted):
                del waits[moodle_id]
                changed = True
    return waits


def order_changes(
    changes: Sequence[Change], accounts: Sequence[AccountFacts], *, tag: str
) -> Ordered:
    ordered = Ordered()
    waits = _waits(changes, accounts, ordered)
    blocked_ids = {c.moodle_id for c, _, _ in ordered.blocked}
    for change in changes:
        if change.moodle_id not in waits and change.moodle_id not in blocked_ids:
            ordered.blocked.append(
                (
                    change,
                    "it waits for a change that is blocked",
                    "il attend une modification bloquée",
                )
            )
    by_id = {c.moodle_id: c for c in changes}
    freed_at: dict[int, int] = {}  # account → round after which its old values are free
    placed: dict[int, int] = {}
    while len(placed) < len(waits):
        progress = False
        for moodle_id in sorted(waits):
            if moodle_id in placed:
                continue
            if all(w in freed_at for w in waits[moodle_id]):
                placed[moodle_id] = 1 + max((freed_at[w] for w in waits[moodle_id]), default=0)
                progress = True
        for moodle_id, round_ in placed.items():
            freed_at.setdefault(moodle_id, round_)
        if not progress:
            parked = min(m for m in waits if m not in placed and m not in freed_at)
            ordered.steps.append(_park(by_id[parked], tag=tag))
            freed_at[parked] = 0
    for moodle_id, round_ in sorted(placed.items(), key=lambda item: (item[1], item[0])):
        ordered.steps.append(
            _final(
                by_id[moodle_id],
                round_,
                tag=tag,
                parked=moodle_id in {s.moodle_id for s in ordered.steps if s.temporary},
            )
        )
    return ordered


def _park(change: Change, *, tag: str) -> Step:
    values = {
        name: (old, temporary_value(name, tag=tag, moodle_id=change.moodle_id))
        for name, (old, _) in change.values.items()
        if name in UNIQUE_FIELDS
    }
    return Step(0, change.moodle_id, values, temporary=True)


def _final(change: Change, round_: int, *, tag: str, parked: bool) -> Step:
    if not parked:
        return Step(round_, change.moodle_id, change.values)
    values = {
        name: (temporary_value(name, tag=tag, moodle_id=change.moodle_id), new)
        if name in UNIQUE_FIELDS
        else (old, new)
        for name, (old, new) in change.values.items()
    }
    return Step(round_, change.moodle_id, values)
