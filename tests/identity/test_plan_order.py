from __future__ import annotations

from services.identity.plan_order import Change, Step, order_changes
from services.identity.records import AccountFacts


def _account(moodle_id: int, username: str, email: str) -> AccountFacts:
    return AccountFacts("ub1", moodle_id, username, email, "F", "L")


def _replay(accounts: list[AccountFacts], steps: list[Step]) -> dict[int, dict[str, str]]:
    """Apply the steps in order the way Moodle checks them: a taken value is refused."""
    state = {a.moodle_id: {"username": a.username, "email": a.email} for a in accounts}
    for step in sorted(steps, key=lambda s: s.round):
        for name, (_, new) in step.values.items():
            taken = {v[name].lower() for k, v in state.items() if k != step.moodle_id}
            assert new.lower() not in taken, f"refused: {name}={new} in round {step.round}"
            state[step.moodle_id][name] = new
    return state


def test_two_swapped_emails_go_through_a_temporary_value() -> None:
    accounts = [_account(1, "a", "x@u.fr"), _account(2, "b", "y@u.fr")]
    changes = [
        Change(1, {"email": ("x@u.fr", "y@u.fr")}),
        Change(2, {"email": ("y@u.fr", "x@u.fr")}),
    ]
    ordered = order_changes(changes, accounts, tag="p1")
    assert not ordered.blocked
    assert [s.temporary for s in sorted(ordered.steps, key=lambda s: s.round)].count(True) == 1
    state = _replay(accounts, ordered.steps)
    assert (state[1]["email"], state[2]["email"]) == ("y@u.fr", "x@u.fr")


def test_a_chain_of_usernames_is_ordered_without_temporary_values() -> None:
    accounts = [_account(1, "a", "1@u.fr"), _account(2, "b", "2@u.fr"), _account(3, "c", "3@u.fr")]
    changes = [
        Change(1, {"username": ("a", "b")}),
        Change(2, {"username": ("b", "c")}),
        Change(3, {"username": ("c", "d")}),
    ]
    ordered = order_changes(changes, accounts, tag="p1")
    assert not any(s.temporary for s in ordered.steps)
    assert [s.moodle_id for s in sorted(ordered.steps, key=lambda s: s.round)] == [3, 2, 1]
    assert {k: v["username"] for k, v in _replay(accounts, ordered.steps).items()} == {
        1: "b",
        2: "c",
        3: "d",
    }


def test_a_value_held_by_an_account_the_plan_leaves_alone_is_blocked() -> None:
    accounts = [_account(1, "a", "x@u.fr"), _account(2, "b", "X@U.FR"), _account(3, "c", "z@u.fr")]
    changes = [Change(3, {"email": ("z@u.fr", "x@u.fr")})]
    ordered = order_changes(changes, accounts, tag="p1")
    assert ordered.steps == []
    assert [c.moodle_id for c, _, _ in ordered.blocked] == [3]
