"""A teacher's migrations: ask for one from "My courses", follow it live, retry or cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from fusion.errors import Forbidden, FusionError
from services.migration_orchestrator.deps import OrchestratorDep, SessionDep
from services.migration_orchestrator.migrations import commands, queries
from services.migration_orchestrator.migrations.requests import check_platform, request_migration
from services.migration_orchestrator.migrations.schemas import MigrationCreate
from services.migration_orchestrator.pages.course_space import CourseSpaceForm, check_form
from services.migration_orchestrator.pages.deps import CsrfDep, PagesDep, UserDep
from services.migration_orchestrator.pages.migrations_view import (
    NEXT_STEP,
    STATE_LABELS,
    may_cancel,
    may_retry,
    principal_of,
)
from services.migration_orchestrator.pages.resources import PAGES_PREFIX
from services.migration_orchestrator.pages.routes_session import redirect

router = APIRouter(prefix=PAGES_PREFIX, include_in_schema=False)


class OnlySupportResumes(Forbidden):
    code = "only_support_resumes"


PlatformName = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,32}$")]
CourseId = Annotated[int, Path(ge=2, le=2**31 - 1)]
MigrationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/migrate/{platform}/{course_id}")
async def migrate_form(
    request: Request,
    platform: PlatformName,
    course_id: CourseId,
    pages: PagesDep,
    orchestrator: OrchestratorDep,
    _: UserDep,
) -> Response:
    check_platform(platform, sources=orchestrator.sources)
    found = await orchestrator.moodle[platform].get_courses_by_field("id", course_id)
    source = found[0] if found else {}
    form = CourseSpaceForm(
        fullname=str(source.get("fullname", "")), shortname=str(source.get("shortname", ""))
    )
    context = _form_context(platform, course_id, source, form)
    return pages.web.render(request, "migrate.html", context)


def _form_context(
    platform: str, course_id: int, source: dict[str, object], form: CourseSpaceForm
) -> dict[str, object]:
    return {
        "section": "courses",
        "platform": platform,
        "course_id": course_id,
        "source": source,
        "form": form,
        "report": None,
        "error": None,
    }


@router.post("/migrate/{platform}/{course_id}")
async def migrate(
    request: Request,
    platform: PlatformName,
    course_id: CourseId,
    pages: PagesDep,
    orchestrator: OrchestratorDep,
    session: SessionDep,
    user: UserDep,
    _: CsrfDep,
    fullname: Annotated[str, Form(max_length=1000)] = "",
    shortname: Annotated[str, Form(max_length=1000)] = "",
    codes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_platform(platform, sources=orchestrator.sources)
    form = CourseSpaceForm(fullname=fullname.strip(), shortname=shortname.strip(), codes_text=codes)
    context = _form_context(platform, course_id, {}, form)
    context["report"] = report = await check_form(form, apogee=pages.apogee)
    if not report.ok:
        return pages.web.render(request, "migrate.html", context, status_code=422)
    body = MigrationCreate(
        source_platform=platform,
        source_course_id=course_id,
        target_category_id=pages.new_course_category,
        fullname=form.fullname,
        shortname=form.shortname,
        apogee_codes=form.codes,
    )
    try:
        outcome = await request_migration(
            session,
            body,
            principal=principal_of(user),
            source=orchestrator.moodle[platform],
            apogee=orchestrator.apogee,
            sources=orchestrator.sources,
            identity=orchestrator.identity,
        )
    except FusionError as error:
        context["error"] = error
        return pages.web.render(request, "migrate.html", context, status_code=error.status_code)
    return redirect(f"{PAGES_PREFIX}/migration/{outcome.migration.id}")


async def _detail_context(
    session: SessionDep, user: UserDep, migration_id: int
) -> dict[str, object]:
    migration = await queries.visible_migration(session, migration_id, principal_of(user))
    detail = await queries.detail(session, migration)
    return {
        "section": "courses",
        "m": detail,
        "next_step": NEXT_STEP.get(detail.state, ""),
        "labels": STATE_LABELS,
        "may_retry": may_retry(detail, user),
        "may_cancel": may_cancel(detail),
        "is_admin": user.is_admin,
    }


@router.get("/migration/{migration_id}")
async def migration_page(
    request: Request, migration_id: MigrationId, pages: PagesDep, session: SessionDep, user: UserDep
) -> Response:
    context = await _detail_context(session, user, migration_id)
    return pages.web.render(request, "migration.html", context)


@router.get("/migration/{migration_id}/live")
async def migration_live(
    request: Request, migration_id: MigrationId, pages: PagesDep, session: SessionDep, user: UserDep
) -> Response:
    """The page's changing part, fetched again by the page's script while the migration runs."""
    context = await _detail_context(session, user, migration_id)
    return pages.web.render(request, "_migration_live.html", context)


@router.post("/migration/{migration_id}/retry")
async def retry(
    migration_id: MigrationId, session: SessionDep, user: UserDep, _: CsrfDep
) -> Response:
    migration = await queries.visible_migration(
        session, migration_id, principal_of(user), lock=True
    )
    if migration.state == "blocked" and not user.is_admin:
        raise OnlySupportResumes(
            "A blocked migration resumes once the support team has resolved what blocks it.",
            message_fr="Une migration bloquée reprend quand l'équipe d'appui a levé ce qui la "
            "bloque.",
        )
    await commands.restart(session, migration, by=user.username)
    return redirect(f"{PAGES_PREFIX}/migration/{migration_id}")


@router.post("/migration/{migration_id}/cancel")
async def cancel(
    migration_id: MigrationId, session: SessionDep, user: UserDep, _: CsrfDep
) -> Response:
    migration = await queries.visible_migration(
        session, migration_id, principal_of(user), lock=True
    )
    await commands.cancel(session, migration, by=user.username)
    return redirect(f"{PAGES_PREFIX}/migration/{migration_id}")
