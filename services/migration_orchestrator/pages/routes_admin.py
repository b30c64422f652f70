"""Administration: platforms, sync runs with their counts, per-course errors as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Request, UploadFile
from fastapi.responses import Response

from fusion.errors import FusionError
from services.migration_orchestrator.deps import OrchestratorDep, SessionDep
from services.migration_orchestrator.migrations import batch
from services.migration_orchestrator.pages.dashboard import dashboard
from services.migration_orchestrator.pages.deps import AdminDep, CsrfDep, PagesDep
from services.migration_orchestrator.pages.migrations_view import STATE_LABELS, principal_of
from services.migration_orchestrator.pages.resources import PAGES_PREFIX, Pages
from services.migration_orchestrator.pages.schemas import RunCourse
from services.migration_orchestrator.pages.sync_report import errors_csv
from services.migration_orchestrator.platforms import check_platforms

router = APIRouter(prefix=PAGES_PREFIX, include_in_schema=False)
RunId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/admin")
async def admin(request: Request, pages: PagesDep, session: SessionDep, _: AdminDep) -> Response:
    context = {
        "section": "admin",
        "platforms": (await check_platforms(pages.platforms, http=pages.http)).platforms,
        "runs": (await pages.sync.runs(limit=20)).data,
        "board": await dashboard(session, reader=pages.web.translator(request)),
        "labels": STATE_LABELS,
        "states": list(STATE_LABELS),
        "sources": [p.name for p in pages.historical],
    }
    return pages.web.render(request, "admin.html", context)


@router.post("/admin/batch")
async def batch_upload(
    request: Request,
    pages: PagesDep,
    session: SessionDep,
    orchestrator: OrchestratorDep,
    user: AdminDep,
    _: CsrfDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """The batch's CSV, line by line: each refused line says why; the others are queued."""
    context: dict[str, object] = {"section": "admin", "filename": file.filename, "error": None}
    try:
        rows = batch.decode(await file.read(batch.MAX_BYTES + 1))
        context["report"] = await batch.request_batch(
            session, rows, principal=principal_of(user), orchestrator=orchestrator
        )
    except FusionError as error:
        context["error"] = error
        return pages.web.render(request, "batch.html", context, status_code=error.status_code)
    return pages.web.render(request, "batch.html", context)


async def _all_courses(pages: Pages, run_id: int) -> list[RunCourse]:
    courses: list[RunCourse] = []
    while True:
        page = await pages.sync.run_courses(run_id, offset=len(courses))
        courses += page.data
        if not page.data or len(courses) >= page.count:
            return courses


async def _course_names(pages: Pages, ids: list[int]) -> dict[int, str]:
    """Names from the merged platform; a run's page still shows ids when Moodle does not answer."""
    if not ids:
        return {}
    try:
        found = await pages.target.get_courses_by_field("ids", ",".join(map(str, ids)))
    except FusionError:
        return {}
    return {int(course["id"]): str(course["fullname"]) for course in found}


@router.get("/admin/sync-runs/{run_id}")
async def sync_run(request: Request, run_id: RunId, pages: PagesDep, _: AdminDep) -> Response:
    courses = await _all_courses(pages, run_id)
    context = {
        "section": "admin",
        "run": await pages.sync.run(run_id),
        "courses": courses,
        "names": await _course_names(pages, [c.course_id for c in courses]),
    }
    return pages.web.render(request, "sync_run.html", context)


@router.get("/admin/sync-runs/{run_id}/errors.csv")
async def sync_run_errors(run_id: RunId, pages: PagesDep, _: AdminDep) -> Response:
    await pages.sync.run(run_id)  # an unknown run is a 404, not an empty file
    body = errors_csv(run_id, await _all_courses(pages, run_id))
    headers = {"content-disposition": f'attachment; filename="sync-{run_id}-errors.csv"'}
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8", headers=headers)
