"""HTTP routes under ``/sync/v1``: thin, each parses, calls one function, returns."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import col

from fusion.auth import Principal
from fusion.errors import error_doc
from services.enrolment_sync import methods as service
from services.enrolment_sync.deps import (
    AnyCaller,
    CourseActor,
    Operator,
    PathId,
    ServicesDep,
    SessionDep,
)
from services.enrolment_sync.leases import check_not_held_elsewhere
from services.enrolment_sync.models import EnrolmentMethod, RunCourse, SyncRun
from services.enrolment_sync.plan import load_graph
from services.enrolment_sync.runs import check_resumable, create_run, get_run
from services.enrolment_sync.schedule import check_course_rate
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
from services.enrolment_sync.teachers import check_run_visible, visible_courses

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
TOO_SOON: Responses = {429: error_doc("This course was synchronised too recently")}


class RunPreview(BaseModel):
    run: RunPublic
    courses: list[RunCoursePublic]


@router.post("/methods", status_code=status.HTTP_201_CREATED, responses=UPSTREAM)
async def create_method(
    body: MethodCreate, session: SessionDep, services: ServicesDep, _: AnyCaller
) -> MethodPublic:
    await service.validate_code(services.apogee, body.code, body.year)
    method = await service.add_method(session, **body.model_dump(), source="api")
    return MethodPublic.model_validate(method)


@router.get("/methods")
async def list_methods(
    session: SessionDep,
    services: ServicesDep,
    principal: AnyCaller,
    course_id: CourseFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> MethodsPublic:
    """Operators see every method; a plugin acting for a teacher, those of their courses."""

    async def candidates() -> set[int]:
        return {course_id} if course_id is not None else await _method_course_ids(session)

    only = await visible_courses(principal, candidates, teachers=services.teachers)
    rows = await service.list_methods(
        session, course_id=course_id, only=only, limit=limit, offset=offset
    )
    return MethodsPublic(data=[MethodPublic.model_validate(m) for m in rows], count=len(rows))


async def _method_course_ids(session: SessionDep) -> set[int]:
    rows = await session.execute(select(col(EnrolmentMethod.course_id)).distinct())
    return set(rows.scalars())


@router.get("/methods/{method_id}", responses=NOT_FOUND)
async def read_method(method_id: PathId, session: SessionDep, _: AnyCaller) -> MethodPublic:
    return MethodPublic.model_validate(await service.get_method(session, method_id))


@router.delete("/methods/{method_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_method(method_id: PathId, session: SessionDep, _: Operator) -> Response:
    await service.delete_method(session, await service.get_method(session, method_id))
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
async def delete_meta_link(link_id: PathId, session: SessionDep, _: Operator) -> Response:
    await service.delete_meta_link(session, await service.get_meta_link(session, link_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED, responses={**UPSTREAM, **BUSY})
async def start_run(body: RunCreate, services: ServicesDep, _: Operator) -> RunPreview:
    async with services.db.unit_of_work() as session:
        run = await create_run(
            session,
            kind=body.kind,
            trigger="api",
            dry_run=body.dry_run,
            forced=body.force,
            verify=body.verify,
        )
    return await _launch(services, run.id or 0, dry_run=body.dry_run, urgent=False)


@router.post(
    "/courses/{course_id}:sync",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**UPSTREAM, **BUSY, **TOO_SOON},
)
async def sync_course(
    course_id: PathId, body: CourseSyncRequest, services: ServicesDep, principal: CourseActor
) -> RunPreview:
    async with services.db.unit_of_work() as session:
        if not body.dry_run:
            await check_course_rate(
                session, course_id, min_seconds=services.settings.course_sync_min_interval_seconds
            )
        run = await create_run(
            session,
            kind="course",
            trigger="api",
            course_id=course_id,
            dry_run=body.dry_run,
            forced=body.force,
        )
    return await _launch(
        services, run.id or 0, dry_run=body.dry_run, urgent=True, principal=principal
    )


async def _launch(
    services: ServicesDep,
    run_id: int,
    *,
    dry_run: bool,
    urgent: bool,
    principal: Principal | None = None,
) -> RunPreview:
    """A dry run answers its preview at once; a real one is queued and answered as accepted."""
    if dry_run or services.runner is None:
        await services.execute(run_id)
    else:
        services.runner.submit(run_id, urgent=urgent)
    async with services.db.session() as session:
        run = await get_run(session, run_id)
        courses: list[RunCoursePublic] = []
        if dry_run:
            # The course's meta children are in the preview too: a teacher sees those they teach.
            only = None
            if principal is not None:
                only = await visible_courses(
                    principal,
                    partial(_run_course_ids, session, run_id),
                    teachers=services.teachers,
                )
            courses = await _courses(session, run_id, limit=1000, offset=0, only=only)
    return RunPreview(run=RunPublic.model_validate(run), courses=courses)


@router.get("/courses/{course_id}/results")
async def read_course_results(
    course_id: PathId,
    session: SessionDep,
    _: CourseActor,
    limit: Annotated[int, Query(ge=1, le=100)] = 1,
) -> CourseResultsPublic:
    """The latest real (not dry) runs' results in this course, newest first."""
    query = (
        select(RunCourse, SyncRun)
        .join(SyncRun, col(SyncRun.id) == col(RunCourse.run_id))
        .where(col(RunCourse.course_id) == course_id, col(SyncRun.dry_run).is_(False))
        .order_by(col(SyncRun.id).desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
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
    status_: Annotated[str | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RunsPublic:
    query = select(SyncRun).order_by(col(SyncRun.id).desc())
    if status_ is not None:
        query = query.where(col(SyncRun.status) == status_)
    runs = (await session.execute(query.limit(limit).offset(offset))).scalars().all()
    return RunsPublic(data=[RunPublic.model_validate(r) for r in runs], count=len(runs))


@router.post(
    "/runs/{run_id:int}:resume",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **BUSY},
)
async def resume(run_id: PathId, services: ServicesDep, _: Operator) -> RunPreview:
    async with services.db.session() as session:
        run = await get_run(session, run_id)
    check_resumable(run)
    check_not_held_elsewhere(run)
    return await _launch(services, run_id, dry_run=False, urgent=True)


@router.get("/runs/{run_id:int}", responses=NOT_FOUND)
async def read_run(
    run_id: PathId, session: SessionDep, services: ServicesDep, principal: AnyCaller
) -> RunPublic:
    run = await get_run(session, run_id)
    await check_run_visible(run, principal, teachers=services.teachers)
    return RunPublic.model_validate(run)


@router.get("/runs/{run_id:int}/courses", responses=NOT_FOUND)
async def read_run_courses(
    run_id: PathId,
    session: SessionDep,
    services: ServicesDep,
    principal: AnyCaller,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RunCoursesPublic:
    """Per-course results; a teacher gets those of the courses they teach, in any run."""
    await get_run(session, run_id)
    only = await visible_courses(
        principal, partial(_run_course_ids, session, run_id), teachers=services.teachers
    )
    query = select(func.count()).select_from(RunCourse).where(col(RunCourse.run_id) == run_id)
    if only is not None:
        query = query.where(col(RunCourse.course_id).in_(sorted(only)))
    total = await session.scalar(query)
    data = await _courses(session, run_id, limit=limit, offset=offset, only=only)
    return RunCoursesPublic(data=data, count=int(total or 0))


async def _run_course_ids(session: SessionDep, run_id: int) -> set[int]:
    rows = await session.execute(
        select(col(RunCourse.course_id)).where(col(RunCourse.run_id) == run_id)
    )
    return set(rows.scalars())


async def _courses(
    session: SessionDep, run_id: int, *, limit: int, offset: int, only: set[int] | None = None
) -> list[RunCoursePublic]:
    query = select(RunCourse).where(col(RunCourse.run_id) == run_id)
    if only is not None:
        query = query.where(col(RunCourse.course_id).in_(sorted(only)))
    rows = await session.execute(
        query.order_by(col(RunCourse.course_id)).limit(limit).offset(offset)
    )
    return [RunCoursePublic.model_validate(r) for r in rows.scalars()]
