"""A teacher's pages: my courses, create my course space, sync now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from fusion.apogee import SearchResults
from fusion.errors import FusionError, TooManyRequests
from fusion.web import WebUser
from services.migration_orchestrator.deps import SessionDep
from services.migration_orchestrator.pages.course_space import CourseSpaceForm, check_form
from services.migration_orchestrator.pages.deps import CsrfDep, PagesDep, UserDep
from services.migration_orchestrator.pages.migrations_view import STATE_LABELS
from services.migration_orchestrator.pages.moodle_courses import create_empty_course
from services.migration_orchestrator.pages.my_courses import historical_courses, merged_courses
from services.migration_orchestrator.pages.resources import PAGES_PREFIX, Pages
from services.migration_orchestrator.pages.routes_session import redirect

router = APIRouter(prefix=PAGES_PREFIX, include_in_schema=False)
CourseId = Annotated[int, Query(ge=1, le=2_147_483_647)]


@router.get("/courses")
async def my_courses(
    request: Request,
    pages: PagesDep,
    session: SessionDep,
    user: UserDep,
    created: CourseId | None = None,
    synced: CourseId | None = None,
) -> Response:
    return await _courses_page(request, pages, session, user, created=created, synced=synced)


async def _courses_page(
    request: Request,
    pages: Pages,
    session: AsyncSession,
    user: WebUser,
    *,
    status_code: int = 200,
    flash_error: FusionError | None = None,
    **flags: int | None,
) -> Response:
    context = {
        "section": "courses",
        "merged": await merged_courses(pages, user.username),
        "historical": await historical_courses(pages, session, user),
        "labels": STATE_LABELS,
        "flash_error": flash_error,
        **flags,
    }
    return pages.web.render(request, "courses.html", context, status_code=status_code)


@router.post("/courses/{course_id}/sync")
async def sync_now(
    request: Request,
    course_id: int,
    pages: PagesDep,
    session: SessionDep,
    user: UserDep,
    _: CsrfDep,
) -> Response:
    try:
        await pages.sync.sync_course(course_id, acting_user=user.username)
    except TooManyRequests as limited:
        return await _courses_page(
            request, pages, session, user, status_code=429, flash_error=limited
        )
    return redirect(f"{PAGES_PREFIX}/courses?synced={course_id}")


@router.get("/courses/new")
async def new_course_page(request: Request, pages: PagesDep, _: UserDep) -> Response:
    context = {"section": "new", "form": CourseSpaceForm(), "report": None}
    return pages.web.render(request, "new_course.html", context)


@router.post("/courses/new")
async def create_course_space(
    request: Request,
    pages: PagesDep,
    user: UserDep,
    _: CsrfDep,
    fullname: Annotated[str, Form(max_length=1000)] = "",
    shortname: Annotated[str, Form(max_length=1000)] = "",
    codes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    form = CourseSpaceForm(fullname=fullname.strip(), shortname=shortname.strip(), codes_text=codes)
    report = await check_form(form, apogee=pages.apogee)
    context = {"section": "new", "form": form, "report": report, "error": None}
    if not report.ok:
        return pages.web.render(request, "new_course.html", context, status_code=422)
    try:
        course_id = await create_empty_course(
            pages.target,
            username=user.username,
            fullname=form.fullname,
            shortname=form.shortname,
            category=pages.new_course_category,
        )
    except FusionError as error:
        context["error"] = error
        return pages.web.render(request, "new_course.html", context, status_code=error.status_code)
    for code in form.codes:
        await pages.sync.add_method(course_id, code)
    return redirect(f"{PAGES_PREFIX}/courses?created={course_id}")


@router.get("/api/codes")
async def suggest_codes(
    pages: PagesDep, _: UserDep, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> SearchResults:
    """The form's autocomplete: the browser holds no token, so the page asks for it."""
    return await pages.apogee.search(q)
