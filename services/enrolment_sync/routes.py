"""HTTP routes under ``/sync/v1``: thin, each parses, calls one function, returns.

Every route's unit of work commits before the response is sent; runs are handed to the runner
only after that commit (``after_commit``).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from fusion.auth import Principal
from fusion.errors import error_doc
from fusion.unit_of_work import UnitOfWork
from services.enrolment_sync import listings
from services.enrolment_sync import methods as service
from services.enrolment_sync.deps import (
    AnyCaller,
    CourseActor,
    Operator,
    PathId,
    SessionDep,
    StateDep,
    UnitOfWorkDep,
    ValidMetaLink,
    ValidMethod,
    ValidRun,
    VisibleRun,
)
from services.enrolment_sync.leases import check_not_held_elsewhere
from services.enrolment_sync.lifecycle import RunStatus
from services.enrolment_sync.models import SyncRun
from services.enrolment_sync.plan import load_graph
from services.enrolment_sync.rate_limit import check_course_rate
from services.enrolment_sync.runs import check_resumable, create_run
from services.enrolment_sync.schemas import (
    MAX_DB_INT,
    CourseResultPublic,
    CourseResultsPublic,
    CourseSyncRequest,
    MetaLinkCreate,
    MetaLinkPublic,
    MetaLinksPublic,
    MethodCreate,
    MethodPublic,
    MethodsPublic,
    RunCoursePublic,
    RunCoursesPublic,
    RunCreate,
    RunPublic,
    RunsPublic,
)
from services.enrolment_sync.state import SyncState
from services.enrolment_sync.teachers import (
    check_created_empty_claim,
    check_operator_decision,
    check_teaches,
    teacher_scope,
    visible_courses,
)

router = APIRouter(prefix="/sync/v1", tags=["enrolment_sync"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT)]
CourseFilter = Annotated[int | None, Query(ge=1, le=MAX_DB_INT)]

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: error_doc("No such method, meta link or run")}
UPSTREAM: Responses = {
    502: error_doc("Apogée or Moodle refused the request"),
    503: error_doc("Apogée or Moodle cannot be reached"),
}
BUSY: Responses = {409: error_doc("The run is in progress elsewhere or cannot be resumed")}
TOO_SOON: Responses = {
    429: error_doc("This course was synchronised (or previewed) too recently; see Retry-After")
}


class RunPreview(BaseModel):
    run: RunPublic
    courses: list[RunCoursePublic]


@router.post(
    "/methods",
    status_code=status.HTTP_201_CREATED,
    responses={**UPSTREAM, 403: error_doc("Not a teacher of the course, or not created empty")},
)
async def create_method(
    body: MethodCreate, session: SessionDep, state: StateDep, principal: AnyCaller
) -> MethodPublic:
    await check_teaches(principal, body.course_id, teachers=state.teachers)
    if body.course_created_empty:
        await check_created_empty_claim(principal, body.course_id, moodle=state.moodle)
    await service.validate_code(state.apogee, body.code, body.year)
    method = await service.add_method(session, **body.model_dump(), source="api")
    return MethodPublic.model_validate(method)


@router.get("/methods")
async def list_methods(
    session: SessionDep,
    state: StateDep,
    principal: AnyCaller,
    course_id: CourseFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> MethodsPublic:
    """Operators see every method; a plugin acting for a teacher, those of their courses."""

    async def candidates() -> set[int]:
        return {course_id} if course_id is not None else await listings.method_course_ids(session)

    only = await visible_courses(principal, candidates, teachers=state.teachers)
    rows = await service.list_methods(
        session, course_id=course_id, only=only, limit=limit, offset=offset
    )
    return MethodsPublic(data=[MethodPublic.model_validate(m) for m in rows], count=len(rows))


@router.get("/methods/{method_id}", responses=NOT_FOUND)
async def read_method(method: ValidMethod) -> MethodPublic:
    return MethodPublic.model_validate(method)


@router.delete("/methods/{method_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_method(_: Operator, method: ValidMethod, session: SessionDep) -> Response:
    await service.delete_method(session, method)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/meta-links")
async def list_meta_links(session: SessionDep, _: Operator) -> MetaLinksPublic:
    links = await service.list_meta_links(session)
    return MetaLinksPublic(
        data=[MetaLinkPublic.model_validate(link) for link in links],
        count=len(links),
        cycles=(await load_graph(session)).cycles,
    )


@router.post("/meta-links", status_code=status.HTTP_201_CREATED)
async def create_meta_link(
    body: MetaLinkCreate, session: SessionDep, _: Operator
) -> MetaLinkPublic:
    link, _cycles = await service.add_meta_link(
        session,
        parent=body.parent_course_id,
        child=body.child_course_id,
        in_moodle=body.in_moodle,
        source="api",
    )
    return MetaLinkPublic.model_validate(link)


@router.delete("/meta-links/{link_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_meta_link(_: Operator, link: ValidMetaLink, session: SessionDep) -> Response:
    await service.delete_meta_link(session, link)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED, responses={**UPSTREAM, **BUSY})
async def start_run(
    body: RunCreate, uow: UnitOfWorkDep, state: StateDep, _: Operator
) -> RunPreview:
    run = await create_run(
        uow,
        kind=body.kind,
        trigger="api",
        dry_run=body.dry_run,
        forced=body.force,
        verify=body.verify,
    )
    return await _launch(uow, state, run, urgent=False)


@router.post(
    "/courses/{course_id}:sync",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**UPSTREAM, **BUSY, **TOO_SOON},
)
async def sync_course(
    course_id: PathId,
    body: CourseSyncRequest,
    uow: UnitOfWorkDep,
    state: StateDep,
    principal: CourseActor,
) -> RunPreview:
    if body.force:
        check_operator_decision(principal)
    await check_course_rate(
        uow.session,
        course_id,
        min_seconds=state.settings.course_sync_min_interval_seconds,
        dry_run=body.dry_run,
        gate=state.course_gate,
    )
    run = await create_run(
        uow,
        kind="course",
        trigger="api",
        course_id=course_id,
        dry_run=body.dry_run,
        forced=body.force,
        scope=await teacher_scope(uow.session, principal, course_id, teachers=state.teachers),
    )
    return await _launch(uow, state, run, urgent=True, principal=principal)


async def _launch(
    uow: UnitOfWork,
    state: SyncState,
    run: SyncRun,
    *,
    urgent: bool,
    principal: Principal | None = None,
) -> RunPreview:
    """A real run is queued once committed and answered as accepted; a dry run is committed
    and executed here, and its preview is the answer."""
    run_id = run.id or 0
    if not run.dry_run:
        uow.after_commit(lambda: state.runner.submit(run_id, urgent=urgent))
        return RunPreview(run=RunPublic.model_validate(run), courses=[])
    await uow.commit()
    await state.execute(run_id)
    await uow.session.refresh(run)
    only = None
    if principal is not None:  # the course's meta children are in the preview too
        only = await visible_courses(
            principal,
            partial(listings.run_course_ids, uow.session, run_id),
            teachers=state.teachers,
        )
    courses, _ = await listings.run_courses(uow.session, run_id, limit=1000, offset=0, only=only)
    return RunPreview(
        run=RunPublic.model_validate(run),
        courses=[RunCoursePublic.model_validate(c) for c in courses],
    )


@router.get("/courses/{course_id}/results")
async def read_course_results(
    course_id: PathId,
    session: SessionDep,
    _: CourseActor,
    limit: Annotated[int, Query(ge=1, le=100)] = 1,
) -> CourseResultsPublic:
    """The latest real (not dry) runs' results in this course, newest first."""
    rows = await listings.course_results(session, course_id, limit=limit)
    data = [
        CourseResultPublic(
            run=RunPublic.model_validate(run), result=RunCoursePublic.model_validate(result)
        )
        for result, run in rows
    ]
    return CourseResultsPublic(data=data, count=len(data))


@router.get("/runs")
async def list_runs(
    session: SessionDep,
    _: Operator,
    status_: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunsPublic:
    runs = await listings.list_runs(session, status=status_, limit=limit, offset=offset)
    return RunsPublic(data=[RunPublic.model_validate(r) for r in runs], count=len(runs))


@router.post(
    "/runs/{run_id:int}:resume",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **BUSY},
)
async def resume(run: ValidRun, uow: UnitOfWorkDep, state: StateDep, _: Operator) -> RunPreview:
    check_resumable(run)
    check_not_held_elsewhere(run)
    return await _launch(uow, state, run, urgent=True)


@router.get("/runs/{run_id:int}", responses=NOT_FOUND)
async def read_run(run: VisibleRun) -> RunPublic:
    return RunPublic.model_validate(run)


@router.get("/runs/{run_id:int}/courses", responses=NOT_FOUND)
async def read_run_courses(
    run: ValidRun,
    session: SessionDep,
    state: StateDep,
    principal: AnyCaller,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RunCoursesPublic:
    """Per-course results; a teacher gets those of the courses they teach, in any run."""
    run_id = run.id or 0
    only = await visible_courses(
        principal, partial(listings.run_course_ids, session, run_id), teachers=state.teachers
    )
    rows, total = await listings.run_courses(session, run_id, limit=limit, offset=offset, only=only)
    return RunCoursesPublic(data=[RunCoursePublic.model_validate(r) for r in rows], count=total)
