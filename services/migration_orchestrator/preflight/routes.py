"""`POST /migrations/v1/backups:analyse`: the raw `.mbz` as request body, spooled to a temporary
file chunk by chunk (never whole in memory), analysed off the event loop, then discarded."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from typing import IO, Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request

from fusion.auth import require_role
from fusion.errors import error_doc
from services.migration_orchestrator.preflight.analyse import analyse_backup
from services.migration_orchestrator.preflight.archive import ArchiveLimits, too_large
from services.migration_orchestrator.preflight.errors import BackupTooLarge
from services.migration_orchestrator.preflight.report import BackupReport

_SPOOL_IN_MEMORY = 1024 * 1024
_WRITE_BATCH = 1024 * 1024
_DISCONNECT_POLL_SECONDS = 0.5

TargetRelease = Annotated[
    str | None,
    Query(max_length=40, pattern=r"^\d+\.\d+(\.\d+)?", description="e.g. 4.1.13"),
]


def _upload_too_large(limit: int) -> BackupTooLarge:
    return too_large("backup file", "le fichier de sauvegarde", limit)


async def spool_body(request: Request, target: IO[bytes], *, limit: int) -> int:
    """Copy the body into `target`, refusing it as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _upload_too_large(limit)
    received, pending = 0, bytearray()
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _upload_too_large(limit)
        pending += chunk
        if len(pending) >= _WRITE_BATCH:
            await anyio.to_thread.run_sync(target.write, bytes(pending))
            pending.clear()
    await anyio.to_thread.run_sync(target.write, bytes(pending))
    target.seek(0)
    return received


async def _watch_disconnect(request: Request, abandoned: threading.Event) -> None:
    """A thread cannot be cancelled: tell the analysis to stop when its client has gone."""
    # Starlette offers no event for a disconnection: polling is the only way to learn of it.
    while not await request.is_disconnected():  # noqa: ASYNC110
        await anyio.sleep(_DISCONNECT_POLL_SECONDS)
    abandoned.set()


async def _while_connected(
    request: Request, analysis: Callable[[threading.Event], BackupReport]
) -> BackupReport:
    abandoned = threading.Event()
    outcome: BackupReport | Exception | None = None
    async with anyio.create_task_group() as watchers:
        watchers.start_soon(_watch_disconnect, request, abandoned)
        try:
            outcome = await anyio.to_thread.run_sync(analysis, abandoned)
        except Exception as error:  # re-raised outside the group, not as an ExceptionGroup
            outcome = error
        watchers.cancel_scope.cancel()
    if isinstance(outcome, Exception):
        raise outcome
    assert outcome is not None
    return outcome


def create_preflight_router(*, limits: ArchiveLimits) -> APIRouter:
    router = APIRouter(tags=["backups"])

    @router.post(
        "/migrations/v1/backups:analyse",
        dependencies=[Depends(require_role("admin", "service", "plugin"))],
        responses={
            400: error_doc("Not a sound Moodle backup (code backup_*; the file is left as it was)"),
            413: error_doc("Upload, member or total size beyond the limits"),
        },
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/vnd.moodle.backup": {
                        "schema": {"type": "string", "format": "binary"}
                    }
                },
                "required": True,
            }
        },
    )
    async def analyse(request: Request, target_release: TargetRelease = None) -> BackupReport:
        """Pre-flight analysis of a Moodle backup (.mbz, sent as the raw body): what it holds
        (course, activities, questions, users, files) and what its restore on the target will
        run into (findings, `blocking`). Nothing is kept: the upload is read once and dropped."""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            await spool_body(request, spool, limit=limits.max_archive_bytes)
            return await _while_connected(
                request,
                lambda abandoned: analyse_backup(
                    spool, limits=limits, target_release=target_release, abandoned=abandoned
                ),
            )

    return router
