"""Seeding at university scale (benchmarks): users, courses and manual enrolments, fast.

``seed_bulk(platform, users=60_000, courses=6_000, enrolments=250_000)`` takes a few seconds:
records go straight into the indexes, without WS parsing or the undo journal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sim.moodle.enrolments import enrol_user
from sim.moodle.entities import STUDENT
from sim.moodle.platform import Platform


@dataclass(frozen=True)
class BulkSeeded:
    userids: list[int]
    courseids: list[int]
    enrolments: int


def seed_bulk(
    platform: Platform,
    *,
    users: int,
    courses: int,
    enrolments: int,
    seed: int = 0,
    category: int | None = None,
) -> BulkSeeded:
    rng = random.Random(seed)
    if category is None:
        category = platform.add_category("Bulk").id
    userids = [
        platform.add_user(
            f"b{n:07d}", "Bulk", f"User {n}", f"b{n:07d}@bulk.example", idnumber=f"{21000000 + n}"
        ).id
        for n in range(users)
    ]
    courseids = []
    manuals = []
    for n in range(courses):
        course = platform.add_course(
            f"BULK{n:05d}", f"Bulk course {n}", category, idnumber=f"BULK{n:05d}-ID"
        )
        courseids.append(course.id)
        manuals.append(platform.add_instance(course.id, "manual"))
    done = 0
    per_course, extra = divmod(enrolments, max(courses, 1))
    for index, manual in enumerate(manuals):
        count = min(users, per_course + (1 if index < extra else 0))
        for userid in rng.sample(userids, count):
            enrol_user(platform, manual, userid, roleid=STUDENT)
        done += count
    return BulkSeeded(userids, courseids, done)
