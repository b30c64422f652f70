"""The figures of the sync benchmark that need no running system: the cost a real Moodle would
pay for the same writes (moodle.md §13) and the diff against a plain set difference."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

from services.enrolment_sync.diff import Ledger, diff_enrolments, pack
from sim.moodle.platform import Platform

BASELINE_MS_PER_ENROLMENT = 235  # 15 h for ~230,000 at Bordeaux (moodle.md §12, inference)
# ms per row measured on a real Moodle 4.1.13 (moodle.md §13); reads of users by field were not
# measured: taken as the id-only roster read (inference).
MS_PER_ROW = {
    "enrol_manual_enrol_users": 4.6,
    "enrol_manual_unenrol_users": 8.5,
    "core_group_add_group_members": 4.85,
    "core_group_delete_group_members": 4.85,
    "core_group_create_groups": 2.0,
    "core_user_create_users": 57.0,
    "core_user_get_users_by_field": 0.4,
    "core_enrol_get_enrolled_users": 0.4,
}
MS_PER_SUSPENSION = 3.45
MS_PER_META_CHILD_ROW = 6.5  # each meta child adds ~6.5 ms per enrolment (1 child: 10.5–13)


def projection(
    counters: dict[str, dict[str, int]], fanout_rows: int, suspensions: int
) -> dict[str, float]:
    base_ms = sum(MS_PER_ROW.get(name, 0.0) * c["rows"] for name, c in counters.items())
    base_ms += suspensions * (MS_PER_SUSPENSION - MS_PER_ROW["enrol_manual_enrol_users"])
    fanout_ms = fanout_rows * MS_PER_META_CHILD_ROW
    return {
        "without_meta_fanout_minutes": round(base_ms / 60_000, 1),
        "with_meta_fanout_minutes": round((base_ms + fanout_ms) / 60_000, 1),
    }


def fanout_rows(target: Platform) -> int:
    """Enrolments written into courses that Moodle then copies into meta children."""
    children: Counter[int] = Counter()
    for instance in target.instances.values():
        if instance.enrol == "meta":
            children[instance.customint1] += 1
    rows = 0
    for course, count in children.items():
        manual = target.course_instances(course, "manual")
        rows += count * sum(len(i.users) for i in manual)
    return rows


def diff_ratio(ledger_size: int, rng: random.Random) -> dict[str, Any]:
    """The sync's diff against ``set - set`` of (course, user, role) tuples: same data, same run.

    A later run's shape: 2 % of the enrolments leave, as many arrive. As in a run, the ledger
    side is built apart from the wanted side (read from the database vs computed), so no
    object is shared; the shared-object case, where equality is an identity check, is given too.
    """
    current = sorted(
        {(rng.randrange(1, 6_000), rng.randrange(2, 60_000), 5) for _ in range(ledger_size)}
    )
    wanted_list = current[: int(len(current) * 0.98)]
    wanted_list += [(c, u + 100_000, r) for c, u, r in current[: len(current) // 50]]
    wanted_triples = {(int(str(c)), int(str(u)), r) for c, u, r in wanted_list}
    ledger_triples = {(int(str(c)), int(str(u)), r) for c, u, r in current}
    ledger = Ledger(active={pack(*t) for t in ledger_triples})
    wanted = {pack(*t) for t in wanted_triples}
    ours = _best_of(lambda: diff_enrolments(wanted, ledger))
    plain = _best_of(lambda: (wanted_triples - ledger_triples, ledger_triples - wanted_triples))
    shared_wanted = set(wanted_list)
    shared_ledger = set(current)
    shared = _best_of(lambda: (shared_wanted - shared_ledger, shared_ledger - shared_wanted))
    diff = diff_enrolments(wanted, ledger)
    assert len(diff.adds) == len(wanted_triples - ledger_triples)
    return {
        "tuples": len(current),
        "changes": len(diff.adds) + len(diff.removals),
        "sync_diff_ms": round(ours * 1000, 1),
        "plain_set_difference_ms": round(plain * 1000, 1),
        "ratio": round(ours / plain, 2),
        "plain_shared_objects_ms": round(shared * 1000, 1),
        "ratio_to_shared_objects": round(ours / shared, 2),
    }


def _best_of(work: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)
