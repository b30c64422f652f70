"""The merged platform's courses for the sync's fault tests: a course with its manual enrolment
instance and students on the target, and the Apogée code that lists them."""

from __future__ import annotations

from sim.moodle.platform import Platform
from tests.enrolment_sync.fake_apogee import FakeCode

NAMES = ("Nom", "Prénom")


def course_with_students(
    target: Platform, shortname: str, fullname: str, *, prefix: str, count: int
) -> tuple[int, dict[str, int]]:
    """A course of category 1 with a manual instance, and ``count`` student accounts whose
    student numbers are ``prefix`` then four digits: (course id, {cod_etu: user id})."""
    course = target.add_course(shortname, fullname, 1)
    target.add_instance(course.id, "manual")
    students: dict[str, int] = {}
    for k in range(count):
        cod_etu = f"{prefix}{k:04d}"
        user = target.add_user(
            f"u{cod_etu}", "Prénom", "Nom", f"{cod_etu}@etu.example.edu", idnumber=cod_etu
        )
        students[cod_etu] = user.id
    return course.id, students


def code_of(students: dict[str, int], *, groups: bool) -> FakeCode:
    """The Apogée code listing ``students``; with ``groups``, split in halves TD1 and TD2."""
    members = dict.fromkeys(students, NAMES)
    if not groups:
        return FakeCode(members=members)
    half = set(sorted(students)[: len(students) // 2])
    return FakeCode(
        members=members, groups={"TD1": ("TD 1", half), "TD2": ("TD 2", set(students) - half)}
    )
