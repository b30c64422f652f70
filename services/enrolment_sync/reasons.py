"""Per-course outcome of a plan, with the reasons support staff read (French first)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.enrolment_sync.diff import EnrolmentDiff, GroupDiff, Safeguard, course_of
from services.enrolment_sync.wanted import Wanted

MAX_LISTED = 50  # errors kept per course: enough to act on, not a dump


@dataclass
class CourseReport:
    course_id: int
    status: str = "planned"
    adds: int = 0
    reactivations: int = 0
    removals: int = 0
    group_adds: int = 0
    group_removals: int = 0
    groups_created: int = 0
    failed: int = 0  # rows Moodle refused, counted while applying
    missing_users: int = 0
    reason: str | None = None
    reason_fr: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return (
            self.adds
            + self.reactivations
            + self.removals
            + self.group_adds
            + self.group_removals
            + self.groups_created
        )


def report_courses(
    affected: Iterable[int],
    *,
    diff: EnrolmentDiff,
    groups: GroupDiff,
    new_groups: Mapping[tuple[int, str], str],
    tripped: Mapping[int, Safeguard],
    wanted: Wanted,
) -> dict[int, CourseReport]:
    reports = {course: CourseReport(course) for course in affected}
    for key in diff.adds:
        reports[course_of(key)].adds += 1
    for key in diff.reactivations:
        reports[course_of(key)].reactivations += 1
    for key in diff.removals:
        reports[course_of(key)].removals += 1
    for course, _, _ in groups.adds:
        reports[course].group_adds += 1
    for course, _, _ in groups.removals:
        reports[course].group_removals += 1
    for course, _ in new_groups:
        reports[course].groups_created += 1
    for course, report in reports.items():
        _explain(report, wanted=wanted, safeguard=tripped.get(course))
    return reports


def _explain(report: CourseReport, *, wanted: Wanted, safeguard: Safeguard | None) -> None:
    course = report.course_id
    unknown = wanted.unknown_codes.get(course, [])
    report.errors += [{"kind": "unknown_code", "code": code} for code in unknown]
    if unknown:
        codes = ", ".join(unknown)
        report.reason = f"Apogée does not know {codes}: no student comes from it."
        report.reason_fr = f"Apogée ne connaît pas {codes} : aucun étudiant n'en provient."
    missing = sorted(wanted.missing.get(course, ()))
    report.missing_users = len(missing)
    report.errors += [{"kind": "missing_user", "cod_etu": s} for s in missing[:MAX_LISTED]]
    if safeguard is not None:
        share = round(100 * safeguard.removals / max(safeguard.enrolled, 1))
        report.status = "blocked"
        report.reason = (
            f"Stopped: {safeguard.removals} of the {safeguard.enrolled} enrolments made by the "
            f"sync would be removed ({share} %). Check the Apogée codes, then force the run."
        )
        report.reason_fr = (
            f"Arrêté : {safeguard.removals} des {safeguard.enrolled} inscriptions faites par la "
            f"synchronisation seraient retirées ({share} %). Vérifiez les codes Apogée, puis "
            "forcez la synchronisation."
        )
    elif report.changes == 0:
        report.status = "unchanged"


def report_missing_course(report: CourseReport, error: dict[str, str], *, changes: int) -> None:
    """A course Moodle does not have (a method or a meta link names a wrong or deleted id):
    nothing was read or written in it, every other course went on; ``changes``: what the
    run would have done there, counted as failed."""
    course = report.course_id
    said = error.get("message", "")
    report.status = "failed"
    report.adds = report.reactivations = report.removals = 0
    report.group_adds = report.group_removals = report.groups_created = 0
    report.failed = max(changes, 1)
    report.errors = [{"kind": "course_missing", **error}, *report.errors][:MAX_LISTED]
    report.reason = (
        f'Moodle has no course {course} (it answers "{said}"): nothing was written to it. '
        "Correct or delete the enrolment methods and meta links that name it."
    )
    report.reason_fr = (
        f"Moodle n'a pas de cours {course} (il répond « {said} ») : rien n'y a été écrit. "
        "Corrigez ou supprimez les méthodes d'inscription et liens méta qui le désignent."
    )
