"""A teacher's migrations: ask for one from "My courses", follow it live, retry or cancel it."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from fusion.errors import Forbidden, FusionError, NotFound
from services.migration_orchestrator.deps import OrchestratorDep, SessionDep
from services.migration_orchestrator.migrations import commands, queries
from services.migration_orchestrator.migrations.requests import check_platform, request_migration
from services.migration_orchestrator.migrations.schemas import MigrationCreate, MigrationDetail
from services.migration_orchestrator.pages.course_space import CourseSpaceForm, check_form
from services.migration_orchestrator.pages.deps import CsrfDep, PagesDep, UserDep
from services.migration_orchestrator.pages.migrations_view import (
    NEXT_STEP,
    STATE_LABELS,
    explain_cause,
    may_cancel,
    may_retry,
    principal_of,
)
from services.migration_orchestrator.pages.resources import PAGES_PREFIX
from services.migration_orchestrator.pages.routes_session import redirect

router = APIRouter(prefix=PAGES_PREFIX, include_in_schema=False)


class OnlySupportResumes(Forbidden):
    code = "only_support_resumes"


class NoSuchCourse(NotFound):
    code = "no_such_course"


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
    if not found:
        raise NoSuchCourse(
            f"There is no course {course_id} on {platform}.",
            message_fr=f"Il n'y a pas de cours n° {course_id} sur {platform}.",
        )
    source = found[0]
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
        "explain_cause": explain_cause,
        # the names asked for, else the source course's, recorded when it was requested
        "course_name": detail.fullname or detail.source_fullname or "",
        "no_person": set(),
        "plan_platforms": [],
    }


async def _without_person(pages: PagesDep, platform: str, blocker: dict[str, Any]) -> set[int]:
    """The restore conflicts of a blocked migration whose account has no person in the
    directory: no homogenisation plan can settle those, support must act first."""
    wanted = {c.get("conflict_id") for c in blocker.get("conflicts") or [] if isinstance(c, dict)}
    if not wanted - {None}:
        return set()
    try:
        found = await pages.identity.conflicts(
            platform=platform, kind="restore_conflict", limit=500
        )
    except (FusionError, httpx.HTTPError):
        return set()
    return {c.id for c in found.items if c.id in wanted and c.person_id is None}


async def _page_context(
    pages: PagesDep,
    session: SessionDep,
    user: UserDep,
    migration_id: int,
) -> dict[str, object]:
    context = await _detail_context(session, user, migration_id)
    m = context["m"]
    assert isinstance(m, MigrationDetail)
    if user.is_admin and m.state == "blocked" and (m.blocker or {}).get("kind") == "identity":
        context["no_person"] = await _without_person(pages, m.source_platform, m.blocker or {})
    # A restore conflict is settled on either side: the source's account (a new backup then
    # carries it) or the merged platform's (the stored backup then goes through).
    context["plan_platforms"] = [m.source_platform, pages.target_name]
    return context


@router.get("/migration/{migration_id}")
async def migration_page(
    request: Request,
    migration_id: MigrationId,
    pages: PagesDep,
    session: SessionDep,
    user: UserDep,
) -> Response:
    context = await _page_context(pages, session, user, migration_id)
    return pages.web.render(request, "migration.html", context)


@router.get("/migration/{migration_id}/live")
async def migration_live(
    request: Request,
    migration_id: MigrationId,
    pages: PagesDep,
    session: SessionDep,
    user: UserDep,
) -> Response:
    """The page's changing part, fetched again by the page's script while the migration runs."""
    context = await _page_context(pages, session, user, migration_id)
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
