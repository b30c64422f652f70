"""Planning a run: read rosters in bulk, compute what each course should hold, diff it against
the ledger and turn the difference into batches. Moodle is only read here, never written
(except to create missing accounts when that policy is on and the run is not a dry run)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.apogee import ApogeeClient, CodeRoster
from fusion.moodle.client import MoodleClient
from services.enrolment_sync import ledger
from services.enrolment_sync.batches import PlannedBatch, plan
from services.enrolment_sync.diff import (
    EnrolmentDiff,
    GroupDiff,
    Ledger,
    course_of,
    diff_enrolments,
    diff_groups,
    safeguard_trips,
    unpack,
    wanted_keys,
    without_pairs,
)
from services.enrolment_sync.meta import (
    Link,
    MetaGraph,
    ancestors,
    build_graph,
    descendants,
    written_rosters,
)
from services.enrolment_sync.models import EnrolmentMethod, MetaLink, SyncRun, utcnow
from services.enrolment_sync.reasons import CourseReport, report_courses, report_missing_course
from services.enrolment_sync.settings import Settings
from services.enrolment_sync.users import resolve_users
from services.enrolment_sync.verify import (
    created_empty,
    leave_existing_enrolments,
    missing_courses,
    verify_ledger,
)
from services.enrolment_sync.wanted import MethodSpec, RosterKey, Wanted, wanted_state


@dataclass
class Plan:
    batches: list[PlannedBatch] = field(default_factory=list)
    courses: dict[int, CourseReport] = field(default_factory=dict)
    etags: dict[RosterKey, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    affected: set[int] = field(default_factory=set)
    left_alone: int = 0  # students others had enrolled, found on a course's first sync


@dataclass
class Sources:
    methods: list[MethodSpec]
    graph: MetaGraph
    rosters: dict[RosterKey, CodeRoster]
    affected: set[int]
    needed: set[int]
    left_out: set[int] = field(default_factory=set)  # meta children outside the run's scope


async def load_methods(session: AsyncSession, settings: Settings) -> list[MethodSpec]:
    m = ledger.table(EnrolmentMethod).c
    rows = await session.execute(
        select(m.course_id, m.code, m.year_key, m.role, m.groups, m.course_created_empty)
    )
    return [
        MethodSpec(course, code, year, settings.role_ids[role], bool(groups), bool(empty))
        for course, code, year, role, groups, empty in rows.all()
    ]


async def load_graph(session: AsyncSession) -> MetaGraph:
    rows = (await session.execute(select(MetaLink))).scalars().all()
    return build_graph(Link(r.parent_course_id, r.child_course_id, r.in_moodle) for r in rows)


async def gather_sources(
    run: SyncRun, *, session: AsyncSession, apogee: ApogeeClient, settings: Settings
) -> Sources:
    """The courses to recompute and the rosters they depend on, fetched in bulk."""
    methods = await load_methods(session, settings)
    graph = await load_graph(session)
    rosters: dict[RosterKey, CodeRoster] = {}
    left_out: set[int] = set()
    if run.kind == "course" and run.course_id is not None:
        affected = descendants(graph, {run.course_id})
        if run.scope is not None:  # a teacher's run: only the courses they teach
            left_out = affected - set(run.scope)
            affected -= left_out
    elif run.kind == "full":
        starts = {m.course_id for m in methods} | await ledger.ledger_courses(session)
        affected = descendants(graph, starts)
    else:
        etags = await ledger.load_etags(session)
        rosters = await fetch_rosters(apogee, {(m.code, m.year_key) for m in methods}, etags)
        changed = {key for key, roster in rosters.items() if roster.status != "not_modified"}
        starts = {m.course_id for m in methods if (m.code, m.year_key) in changed}
        affected = descendants(graph, starts | await ledger.dirty_courses(session))
    needed = ancestors(graph, affected)
    missing = {
        (m.code, m.year_key)
        for m in methods
        if m.course_id in needed
        and rosters.get((m.code, m.year_key), _NOT_MODIFIED).status == "not_modified"
    }
    rosters.update(await fetch_rosters(apogee, missing, {}))
    return Sources(methods, graph, rosters, affected, needed, left_out)


_NOT_MODIFIED = CodeRoster(code="", status="not_modified")


async def fetch_rosters(
    apogee: ApogeeClient, keys: Collection[RosterKey], etags: Mapping[RosterKey, str]
) -> dict[RosterKey, CodeRoster]:
    """One streamed ``members:bulk`` per academic year involved."""
    by_year: dict[int, list[str]] = defaultdict(list)
    for code, year in sorted(keys):
        by_year[year].append(code)
    rosters: dict[RosterKey, CodeRoster] = {}
    for year, codes in by_year.items():
        known = {code: etags[(code, year)] for code in codes if (code, year) in etags}
        async for roster in apogee.members_bulk(codes, year=year or None, if_none_match=known):
            rosters[(roster.code, year)] = roster
    return rosters


async def plan_run(
    run: SyncRun,
    *,
    session: AsyncSession,
    apogee: ApogeeClient,
    moodle: MoodleClient,
    settings: Settings,
) -> Plan:
    sources = await gather_sources(run, session=session, apogee=apogee, settings=settings)
    needed_methods = [m for m in sources.methods if m.course_id in sources.needed]
    students = {s for r in sources.rosters.values() for s in r.members}
    creating = settings.missing_users == "create"
    names = {s: n for r in sources.rosters.values() for s, n in r.names.items()} if creating else {}
    users = await resolve_users(
        students,
        names=names,
        session=session,
        moodle=moodle,
        settings=settings,
        may_create=not run.dry_run,
    )
    wanted = wanted_state(needed_methods, sources.rosters, users)
    if run.verify and not run.dry_run:
        await verify_ledger(
            sources.affected,
            session=session,
            moodle=moodle,
            concurrency=settings.moodle_concurrency,
        )
    return await _diff_and_batch(
        run, sources, wanted, session=session, moodle=moodle, settings=settings
    )


async def _diff_and_batch(
    run: SyncRun,
    sources: Sources,
    wanted: Wanted,
    *,
    session: AsyncSession,
    moodle: MoodleClient,
    settings: Settings,
) -> Plan:
    affected = sources.affected
    written = written_rosters(sources.graph, wanted.direct, sources.needed)
    enrolments = await ledger.load_enrolments(session, affected)
    diff = diff_enrolments(wanted_keys({c: written.get(c, {}) for c in affected}), enrolments)
    group_ledger = await ledger.load_groups(session, affected)
    wanted_members = {m for m in wanted.members if m[0] in affected}
    groups = diff_groups(wanted_members, await ledger.load_memberships(session, affected))
    new_groups = {
        k: name for k, name in wanted.groups.items() if k[0] in affected and k not in group_ledger
    }
    # A course Moodle does not have fails alone, before anything reads or writes it.
    broken = await missing_courses(
        _touched(diff, groups, new_groups), moodle=moodle, concurrency=settings.moodle_concurrency
    )
    dropped = _changes_by_course(diff, groups, new_groups, set(broken))
    _drop_courses(diff, groups, set(broken))
    left_alone = await _leave_existing(
        run, sources, diff, enrolments, session=session, moodle=moodle, settings=settings
    )
    tripped = (
        {}
        if run.forced
        else safeguard_trips(
            diff.removals,
            enrolments,
            max_share=settings.max_removal_share,
            min_course_size=settings.safeguard_min_course_size,
        )
    )
    _drop_courses(diff, groups, set(tripped))
    new_groups = {
        k: name for k, name in new_groups.items() if k[0] not in tripped and k[0] not in broken
    }
    result = Plan(affected=affected)
    result.courses = report_courses(
        affected, diff=diff, groups=groups, new_groups=new_groups, tripped=tripped, wanted=wanted
    )
    for course, error in broken.items():
        report_missing_course(result.courses[course], error, changes=dropped.get(course, 0))
    result.batches = _batches(diff, groups, new_groups, settings)
    result.etags = {
        key: roster.etag
        for key, roster in sources.rosters.items()
        if roster.etag and roster.status in ("ok", "closed")
    }
    result.warnings = [{"kind": "meta_cycle", "courses": c} for c in sources.graph.cycles]
    if sources.left_out:
        result.warnings.append(
            {"kind": "meta_children_of_other_teachers", "courses": sorted(sources.left_out)}
        )
    result.left_alone = left_alone
    return result


async def _leave_existing(
    run: SyncRun,
    sources: Sources,
    diff: EnrolmentDiff,
    held: Ledger,
    *,
    session: AsyncSession,
    moodle: MoodleClient,
    settings: Settings,
) -> int:
    """Drop from the adds the enrolments others made; returns how many were newly found."""
    known = await ledger.load_existing(session, sources.affected)
    diff.adds = without_pairs(diff.adds, known)
    if not settings.leave_existing_enrolments or not diff.adds:
        return 0
    left = await leave_existing_enrolments(
        diff.adds,
        held,
        known=known,
        created_empty=created_empty(sources.methods),
        moodle=moodle,
        concurrency=settings.moodle_concurrency,
    )
    diff.adds = left.adds
    if not run.dry_run:  # a preview writes nothing, not even what it learnt
        await ledger.record_existing(session, left.found, at=utcnow())
    return len(left.found)


def _touched(
    diff: EnrolmentDiff, groups: GroupDiff, new_groups: Mapping[tuple[int, str], str]
) -> set[int]:
    """The courses the plan would read or write in Moodle."""
    keys = diff.adds | diff.reactivations | diff.removals
    return (
        {course_of(k) for k in keys}
        | {m[0] for m in groups.adds | groups.removals}
        | {course for course, _ in new_groups}
    )


def _changes_by_course(
    diff: EnrolmentDiff,
    groups: GroupDiff,
    new_groups: Mapping[tuple[int, str], str],
    courses: set[int],
) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    if not courses:
        return counts
    for key in diff.adds | diff.reactivations | diff.removals:
        if course_of(key) in courses:
            counts[course_of(key)] += 1
    for course, *_ in (*groups.adds, *groups.removals, *new_groups):
        if course in courses:
            counts[course] += 1
    return counts


def _drop_courses(diff: EnrolmentDiff, groups: GroupDiff, courses: set[int]) -> None:
    """A course that trips the safeguard stops entirely: no adds, no removals."""
    if not courses:
        return
    diff.adds = {k for k in diff.adds if course_of(k) not in courses}
    diff.reactivations = {k for k in diff.reactivations if course_of(k) not in courses}
    diff.removals = {k for k in diff.removals if course_of(k) not in courses}
    groups.adds = {m for m in groups.adds if m[0] not in courses}
    groups.removals = {m for m in groups.removals if m[0] not in courses}


def _batches(
    diff: EnrolmentDiff,
    groups: GroupDiff,
    new_groups: Mapping[tuple[int, str], str],
    settings: Settings,
) -> list[PlannedBatch]:
    limit = settings.moodle_max_input_vars
    enrol = [_enrol_row(k) for k in diff.adds]
    enrol += [_enrol_row(k, suspend=0) for k in diff.reactivations]
    batches = plan("enrol", enrol, max_input_vars=limit)
    group_rows = [
        {"courseid": c, "name": name, "description": "", "idnumber": i}
        for (c, i), name in new_groups.items()
    ]
    batches += plan("create_groups", group_rows, max_input_vars=limit)
    batches += plan("add_members", _member_rows(groups.adds), max_input_vars=limit)
    batches += plan("delete_members", _member_rows(groups.removals), max_input_vars=limit)
    batches += _removal_batches(diff.removals, settings)
    return batches


def _removal_batches(removals: Iterable[int], settings: Settings) -> list[PlannedBatch]:
    policy = settings.removal_policy
    if policy == "suspend":
        rows = [_enrol_row(k, suspend=1) for k in removals]
        return plan("suspend", rows, max_input_vars=settings.moodle_max_input_vars)
    rows = [{"courseid": c, "userid": u} for c, u, _ in map(unpack, removals)]
    kind = "unenrol" if policy == "unenrol" else "forget"
    return plan(kind, rows, max_input_vars=settings.moodle_max_input_vars)


def _enrol_row(key: int, *, suspend: int | None = None) -> dict[str, Any]:
    course, user, role = unpack(key)
    row = {"roleid": role, "userid": user, "courseid": course}
    if suspend is not None:
        row["suspend"] = suspend
    return row


def _member_rows(memberships: Iterable[tuple[int, str, int]]) -> list[dict[str, Any]]:
    return [{"courseid": c, "idnumber": i, "userid": u} for c, i, u in memberships]
