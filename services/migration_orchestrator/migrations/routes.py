"""``/migrations/v1/migrations``: request, batch, list, read, retry, resume, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from fusion.errors import error_doc
from services.migration_orchestrator.deps import (
    AdminDep,
    AnyCaller,
    MigrationId,
    OrchestratorDep,
    SessionDep,
    StaffDep,
)
from services.migration_orchestrator.migrations import batch, commands, queries
from services.migration_orchestrator.migrations.requests import check_platform, request_migration
from services.migration_orchestrator.migrations.schemas import (
    BatchReport,
    MigrationCreate,
    MigrationDetail,
    MigrationPublic,
    MigrationsPublic,
)
from services.migration_orchestrator.migrations.states import State

router = APIRouter(prefix="/migrations/v1/migrations", tags=["migrations"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error_doc("No such migration, or not one of your courses")
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: error_doc("The migration's state does not allow this now")
}
CSV_EXAMPLE = (
    "source_platform,source_course_id,target_category_id,apogee_codes,teachers\n"
    "ub1,12,2,UEMATH1;UEMATH2,prof1\nub2,40,3,LMATH-1,\n"
)


@router.post(
    "",
    status_code=201,
    responses={
        200: {"model": MigrationPublic, "description": "Already migrating or migrated"},
        403: error_doc("Not a teacher of the course, or a waiver by a non-administrator"),
        502: error_doc("Moodle or apogee_api failed"),
    },
)
async def request_one(
    body: MigrationCreate,
    principal: AnyCaller,
    session: SessionDep,
    orchestrator: OrchestratorDep,
    response: Response,
) -> MigrationPublic:
    """Ask for one course to be migrated. The requester must teach the source course on its
    platform (checked now through Moodle, and recorded) unless they are an administrator; at
    least one valid Apogée code is needed unless an administrator waives it. A course already
    migrating or migrated answers its existing migration (200)."""
    check_platform(body.source_platform, sources=orchestrator.sources)
    outcome = await request_migration(
        session,
        body,
        principal=principal,
        source=orchestrator.moodle[body.source_platform],
        apogee=orchestrator.apogee,
        sources=orchestrator.sources,
        identity=orchestrator.identity,
    )
    if not outcome.created:
        response.status_code = 200
    return queries.public(outcome.migration)


@router.post(
    ":batch",
    openapi_extra={"requestBody": {"content": {"text/csv": {"example": CSV_EXAMPLE}}}},
    responses={400: error_doc("Not a readable CSV, wrong header or too many lines")},
)
async def request_batch(
    request: Request,
    principal: AdminDep,
    session: SessionDep,
    orchestrator: OrchestratorDep,
) -> BatchReport:
    """A batch from a CSV file (administrators). Columns: source_platform, source_course_id,
    target_category_id, and optionally fullname, shortname, apogee_codes and teachers (``;``
    between values), visible, waive_codes. Each line is checked on its own; the report lists
    the refused lines with their reason. Batches queue behind teachers' own requests."""
    rows = batch.decode(await request.body())
    return await batch.request_batch(session, rows, principal=principal, orchestrator=orchestrator)


@router.get("")
async def list_migrations(
    principal: AnyCaller,
    session: SessionDep,
    state: Annotated[State | None, Query()] = None,
    platform: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,32}$")] = None,
    batch_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> MigrationsPublic:
    """Migrations, newest first, filtered by state, source platform or batch. A teacher (through
    a plugin) sees every migration of the courses they teach, whoever started it."""
    return await queries.list_migrations(
        session,
        principal,
        state=state.value if state else None,
        platform=platform,
        batch_id=batch_id,
        limit=limit,
        offset=offset,
    )


@router.get("/{migration_id}", responses=NOT_FOUND)
async def get_migration(
    migration_id: MigrationId, principal: AnyCaller, session: SessionDep
) -> MigrationDetail:
    """One migration with its history (every transition, its cause and time) and its logs
    (what each step printed or found), and the evidence of its authorisation."""
    migration = await queries.visible_migration(session, migration_id, principal)
    return await queries.detail(session, migration)


@router.post("/{migration_id}/retry", responses={**NOT_FOUND, **CONFLICT})
async def retry(
    migration_id: MigrationId, principal: AnyCaller, session: SessionDep
) -> MigrationPublic:
    """Run a failed migration again from the step that failed."""
    migration = await queries.visible_migration(session, migration_id, principal, lock=True)
    return queries.public(await commands.restart(session, migration, by=_who(principal)))


@router.post("/{migration_id}/resume", responses={**NOT_FOUND, **CONFLICT})
async def resume(
    migration_id: MigrationId, principal: StaffDep, session: SessionDep
) -> MigrationPublic:
    """Resume a blocked migration once an administrator resolved what blocked it (identity
    conflicts, a finding of the pre-flight): its step runs again and checks anew."""
    migration = await queries.visible_migration(session, migration_id, principal, lock=True)
    return queries.public(await commands.restart(session, migration, by=_who(principal)))


@router.post("/{migration_id}/cancel", responses={**NOT_FOUND, **CONFLICT})
async def cancel(
    migration_id: MigrationId, principal: AnyCaller, session: SessionDep
) -> MigrationPublic:
    """Cancel a migration that has not reached the restore; the course may be requested again."""
    migration = await queries.visible_migration(session, migration_id, principal, lock=True)
    return queries.public(await commands.cancel(session, migration, by=_who(principal)))


def _who(principal: object) -> str:
    acting = getattr(principal, "acting_user", None)
    return str(acting or getattr(principal, "client", "?"))


__all__ = ["Body", "router"]
