"""``/migrations/v1/worker/``: what platform workers call (service token). Backup files come in
and go out here as streams, chunk by chunk, never whole in memory and never through the bus."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from fusion.errors import error_doc
from services.migration_orchestrator.deps import MigrationId, OrchestratorDep, WorkerDep
from services.migration_orchestrator.migrations import backups, restore_area, restores
from services.migration_orchestrator.migrations.models import Migration
from services.migration_orchestrator.scheduling.slots import extend_lease
from services.migration_orchestrator.workers.slot_releases import released_within

router = APIRouter(prefix="/migrations/v1/worker", tags=["workers"])
HELD: dict[int | str, dict[str, Any]] = {
    404: error_doc("No such migration"),
    409: error_doc("The backup or restore is not (any more) this worker's"),
}
WorkerName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


class ClaimRequest(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"platform": "ub2", "worker": "ub2-a"}]}}
    platform: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    worker: WorkerName


class ClaimAnswer(BaseModel):
    status: str = Field(description="claimed | busy (every slot taken) | idle (nothing queued)")
    migration_id: int | None = None
    course_id: int | None = None
    lease_seconds: float


class WorkerRequest(BaseModel):
    worker: WorkerName


class RestoreStart(BaseModel):
    """A restore worker taking a queued restore: which worker, from which message."""

    model_config = {
        "json_schema_extra": {
            "examples": [{"worker": "target-a", "message": "0b7e9a52-3f43-4c8e-9d8e-2f1c6a1d9b10"}]
        }
    }
    worker: WorkerName
    message: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f-]{36}$",
        description="id of the `restore.run` message started from: one the orchestrator "
        "replaced (queued again after its lease expired) is refused with 409",
    )


Attempt = Annotated[str, Field(max_length=40, description="the ticket's `attempt`")]


class WorkerFailure(BaseModel):
    worker: WorkerName
    attempt: Attempt | None = None
    message: str = Field(max_length=2000)
    message_fr: str = Field(max_length=2000)
    retryable: bool = False
    details: dict[str, Any] | None = None


class RestoreDoneRequest(BaseModel):
    worker: WorkerName
    attempt: Attempt | None = None
    course_id: int = Field(gt=1, le=2**31 - 1)


class TicketPublic(BaseModel):
    migration_id: int
    category_id: int = Field(description="where to restore: the migration's own restore area")
    backup_sha256: str
    backup_bytes: int
    retried: bool
    attempt: str = Field(description="to send back with the attempt's report")


class Ack(BaseModel):
    state: str


@router.post("/backups:claim")
async def claim(body: ClaimRequest, _: WorkerDep, orchestrator: OrchestratorDep) -> ClaimAnswer:
    """Take the most urgent queued backup of a platform if one of its slots is free (the
    platform's concurrency is never exceeded, whatever the number of workers). When every slot
    is busy, the answer waits up to ``backup_claim_wait_seconds`` for one to be released."""
    settings, lease = orchestrator.settings, orchestrator.settings.backup_lease_seconds
    deadline = time.monotonic() + settings.backup_claim_wait_seconds
    while True:
        released = orchestrator.slot_releases.watch(body.platform)
        async with orchestrator.db.unit_of_work() as session:
            found = await backups.claim_backup(
                session, platform=body.platform, worker=body.worker, lease_seconds=lease
            )
        left = deadline - time.monotonic()
        if found.status != "busy" or left <= 0:
            break
        if not await released_within(released, left, platform=body.platform):
            break
    return ClaimAnswer(**found.__dict__, lease_seconds=lease)


@router.post("/backups/{migration_id}/heartbeat", responses=HELD)
async def heartbeat(
    migration_id: MigrationId, body: WorkerRequest, _: WorkerDep, orchestrator: OrchestratorDep
) -> Ack:
    """Renew the lease of a running backup (a worker that stops renewing is presumed dead)."""
    async with orchestrator.db.unit_of_work() as session:
        migration = await backups.held_backup(session, migration_id, worker=body.worker)
        await extend_lease(
            session,
            migration,
            worker=body.worker,
            seconds=orchestrator.settings.backup_lease_seconds,
        )
    return Ack(state=migration.state)


@router.put(
    "/backups/{migration_id}/file",
    responses={**HELD, 400: error_doc("SHA-256 mismatch"), 413: error_doc("Too large")},
    openapi_extra={"requestBody": {"content": {"application/vnd.moodle.backup": {}}}},
)
async def upload(
    migration_id: MigrationId,
    request: Request,
    _: WorkerDep,
    orchestrator: OrchestratorDep,
    x_fusion_worker: Annotated[str, Header(max_length=100)],
    x_content_sha256: Annotated[str, Header(pattern=r"^[0-9a-fA-F]{64}$")],
) -> Ack:
    """The backup file as the raw body, streamed into the backup store and checked against its
    SHA-256; then the migration moves on to its pre-flight."""
    async with orchestrator.db.read() as session:  # and the move, once stored, is guarded by it
        migration = await backups.held_backup(
            session, migration_id, worker=x_fusion_worker, lock=False
        )
    stored = await backups.receive_backup(
        migration,
        request.stream(),
        store=orchestrator.store,
        sha256=x_content_sha256,
        max_bytes=orchestrator.settings.max_backup_bytes,
    )
    await backups.backup_stored(orchestrator.db, migration, stored)
    orchestrator.slot_releases.released(migration.source_platform)
    return Ack(state=migration.state)


@router.post("/backups/{migration_id}/failure", responses=HELD)
async def backup_failure(
    migration_id: MigrationId, body: WorkerFailure, _: WorkerDep, orchestrator: OrchestratorDep
) -> Ack:
    """The backup failed on the platform (the CLI's output in ``details``)."""
    async with orchestrator.db.unit_of_work() as session:
        migration = await backups.held_backup(session, migration_id, worker=body.worker)
        await backups.backup_failed(
            session,
            migration,
            message=body.message,
            message_fr=body.message_fr,
            retryable=body.retryable,
            max_attempts=orchestrator.settings.backup_max_attempts,
            details=body.details,
        )
    orchestrator.slot_releases.released(migration.source_platform)
    return Ack(state=migration.state)


@router.post("/restores/{migration_id}/start", responses=HELD)
async def start_restore(
    migration_id: MigrationId, body: RestoreStart, _: WorkerDep, orchestrator: OrchestratorDep
) -> TicketPublic:
    """Start a restore attempt: where to (the migration's restore area on the target, emptied
    of whatever an interrupted attempt left there), and the checksum of the file to fetch."""
    ticket = await restore_area.start(
        orchestrator, migration_id, worker=body.worker, message=body.message
    )
    return TicketPublic(**ticket.__dict__)


@router.get("/restores/{migration_id}/file", responses=HELD)
async def download(
    migration_id: MigrationId, _: WorkerDep, orchestrator: OrchestratorDep
) -> StreamingResponse:
    """The stored backup, streamed."""
    async with orchestrator.db.session() as session:
        migration = await restores.restoring(session, migration_id)
    assert migration.backup_key is not None
    return StreamingResponse(
        orchestrator.store.read(migration.backup_key),
        media_type="application/vnd.moodle.backup",
        headers=_file_headers(migration),
    )


def _file_headers(migration: Migration) -> dict[str, str]:
    return {
        "x-content-sha256": migration.backup_sha256 or "",
        "content-length": str(migration.backup_bytes or 0),
    }


@router.post("/restores/{migration_id}/done", responses=HELD)
async def restore_done(
    migration_id: MigrationId,
    body: RestoreDoneRequest,
    _: WorkerDep,
    orchestrator: OrchestratorDep,
) -> Ack:
    """The course is restored on the target under this id: moved into the target category,
    then post-restore."""
    migration = await restore_area.done(
        orchestrator, migration_id, course_id=body.course_id, attempt=body.attempt
    )
    return Ack(state=migration.state)


@router.post("/restores/{migration_id}/failure", responses=HELD)
async def restore_failure(
    migration_id: MigrationId, body: WorkerFailure, _: WorkerDep, orchestrator: OrchestratorDep
) -> Ack:
    """The restore failed (Moodle's output in ``details``): the placeholder course Moodle
    leaves behind is deleted, and the migration fails."""
    migration = await restore_area.failed(
        orchestrator,
        migration_id,
        attempt=body.attempt,
        message=body.message,
        message_fr=body.message_fr,
        details=body.details,
    )
    return Ack(state=migration.state)
