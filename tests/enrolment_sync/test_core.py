"""The pure core: meta closure, wanted state, diff, safeguard, batch sizing, disjoint scheduling."""

from __future__ import annotations

import asyncio

import pytest

from fusion.apogee import ApogeeGroup, CodeRoster
from services.enrolment_sync.batches import plan, run_disjoint, users_of
from services.enrolment_sync.diff import (
    Ledger,
    diff_enrolments,
    pack,
    safeguard_trips,
    unpack,
    wanted_keys,
)
from services.enrolment_sync.meta import Link, build_graph, descendants, written_rosters
from services.enrolment_sync.wanted import MethodSpec, wanted_state

STUDENT, TEACHER = 5, 3


def test_meta_chain_is_closed_by_the_service_where_moodle_does_not_chain() -> None:
    graph = build_graph([Link(1, 2), Link(2, 3)])
    direct = {1: {10: STUDENT}, 2: {20: STUDENT}, 3: {30: STUDENT}}
    written = written_rosters(graph, direct, [1, 2, 3])
    assert written[1] == {10: STUDENT}
    # Moodle copies course 1's own enrolments into 2: the service does not write them again.
    assert written[2] == {20: STUDENT}
    # ... but Moodle does not copy 2's meta enrolments into 3: the service writes user 10 there.
    assert written[3] == {30: STUDENT, 10: STUDENT}


def test_meta_link_unknown_to_moodle_is_carried_entirely_by_the_service() -> None:
    graph = build_graph([Link(1, 2, in_moodle=False)])
    written = written_rosters(graph, {1: {10: STUDENT}}, [1, 2])
    assert written[2] == {10: STUDENT}


def test_meta_cycle_is_reported_and_not_followed() -> None:
    graph = build_graph([Link(1, 2), Link(2, 3), Link(3, 1), Link(3, 4), Link(5, 5)])
    assert graph.cycles == [[1, 2, 3], [5]]
    assert [(link.parent, link.child) for link in graph.links] == [(3, 4)]
    assert descendants(graph, [3]) == {3, 4}
    written = written_rosters(graph, {1: {10: STUDENT}, 3: {30: STUDENT}}, [1, 2, 3, 4])
    assert written[4] == {}  # 3 → 4 is a Moodle link: Moodle copies user 30 itself
    assert written[2] == {}


def test_long_meta_chain_does_not_recurse() -> None:
    graph = build_graph([Link(i, i + 1) for i in range(5000)])
    assert graph.cycles == []
    written = written_rosters(graph, {0: {1: STUDENT}}, range(5001))
    assert written[5000] == {1: STUDENT}


def test_wanted_state_maps_students_and_groups_and_reports_missing_accounts() -> None:
    methods = [MethodSpec(7, "ELP1", 0, STUDENT, groups=True)]
    roster = CodeRoster(
        code="ELP1",
        status="ok",
        members=("E1", "E2", "E3"),
        groups=(ApogeeGroup("TD1", "TD 1", "group", ("E1", "E3")),),
    )
    wanted = wanted_state(methods, {("ELP1", 0): roster}, {"E1": 101, "E2": 102})
    assert wanted.direct[7] == {101: STUDENT, 102: STUDENT}
    assert wanted.missing[7] == {"E3"}
    assert wanted.groups == {(7, "TD1"): "TD 1 (TD1)"}
    assert wanted.members == {(7, "TD1", 101)}


def test_unknown_code_gives_an_empty_roster_and_is_reported() -> None:
    methods = [MethodSpec(7, "NOPE", 0, STUDENT, groups=False)]
    wanted = wanted_state(methods, {("NOPE", 0): CodeRoster("NOPE", "unknown")}, {})
    assert wanted.direct[7] == {}
    assert wanted.unknown_codes[7] == ["NOPE"]


def test_diff_adds_reactivates_and_removes_only_what_the_ledger_made() -> None:
    wanted = wanted_keys({1: {10: STUDENT, 11: STUDENT, 12: STUDENT, 15: TEACHER}})
    ledger = Ledger(
        active={pack(1, 10, STUDENT), pack(1, 13, STUDENT), pack(1, 15, STUDENT)},
        suspended={pack(1, 11, STUDENT), pack(1, 14, STUDENT)},
    )
    diff = diff_enrolments(wanted, ledger)
    assert diff.adds == {pack(1, 12, STUDENT), pack(1, 15, TEACHER)}  # new, and a role change
    assert diff.reactivations == {pack(1, 11, STUDENT)}
    assert diff.removals == {pack(1, 13, STUDENT)}  # 15 changed role: not removed
    assert unpack(pack(123456, 987654, 3)) == (123456, 987654, 3)


def test_nothing_to_do_when_the_ledger_matches() -> None:
    diff = diff_enrolments(wanted_keys({1: {10: STUDENT}}), Ledger(active={pack(1, 10, STUDENT)}))
    assert (diff.adds, diff.reactivations, diff.removals) == (set(), set(), set())


@pytest.mark.parametrize(
    ("enrolled", "removed", "trips"),
    [(100, 30, False), (100, 31, True), (5, 4, False), (5, 5, True), (1, 1, True)],
)
def test_safeguard_share_of_removals(enrolled: int, removed: int, trips: bool) -> None:
    ledger = Ledger(active={pack(1, user, STUDENT) for user in range(enrolled)})
    removals = [pack(1, user, STUDENT) for user in range(removed)]
    tripped = safeguard_trips(removals, ledger, max_share=0.3, min_course_size=10)
    assert (1 in tripped) is trips


def test_batches_respect_max_input_vars_with_the_header() -> None:
    rows = [{"roleid": 5, "userid": u, "courseid": u % 7} for u in range(10_000)]
    batches = plan("enrol", rows, max_input_vars=5000)
    assert all(3 + 3 * len(batch.rows) <= 5000 for batch in batches)
    assert len(batches[0].rows) == 1665
    assert sum(len(batch.rows) for batch in batches) == 10_000
    suspend = plan("suspend", [dict(row, suspend=1) for row in rows[:2000]], max_input_vars=5000)
    assert len(suspend[0].rows) == 1249


async def test_calls_overlap_only_when_their_users_do_not() -> None:
    active: set[int] = set()
    clashes = []

    async def work(item: frozenset[int]) -> None:
        if active & item:
            clashes.append(item)
        active.update(item)
        await asyncio.sleep(0)
        active.difference_update(item)

    items = [frozenset({1, 2}), frozenset({2, 3}), frozenset({4}), frozenset({5}), frozenset({3})]
    peak = await run_disjoint(items, users=lambda i: i, work=work, concurrency=4)
    assert clashes == []
    assert peak == 4  # {1,2}, {4}, {5} and {3} together; {2,3} waits for both
    assert users_of([{"userid": 1}, {"courseid": 2}]) == {1}
