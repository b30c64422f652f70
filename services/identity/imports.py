"""Import jobs: a source read page by page into the store, with progress, then analysed.

A job row is created (``queued``) by the request; the work runs in the service's background
tasks, committing each page with the job's progress, so that a reader sees it advance and a
crash leaves the pages already loaded (reloading is incremental: they are then unchanged). The
job's moves follow ``IMPORT_LIFECYCLE`` (services/identity/lifecycle.py): a Fusion error fails
it at once, any other exception is a failed attempt and the source is read again, until the
last attempt fails the job with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fusion.contracts.identity import IdentityImportFinished
from fusion.errors import FusionError
from fusion.unit_of_work import UnitOfWork
from services.identity.analysis import analyse
from services.identity.lifecycle import IMPORT_LIFECYCLE, ImportState
from services.identity.models import ImportJob, utcnow
from services.identity.records import AccountFacts, DirectoryEntry
from services.identity.resources import Units
from services.identity.store import LoadCounts, save_accounts, save_persons

log = logging.getLogger(__name__)

Pages = AsyncIterator[list[AccountFacts]] | AsyncIterator[list[DirectoryEntry]]


async def as_pages(items: list[Any], size: int = 1000) -> AsyncIterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def create_job(
    units: Units, *, source: str, platform: str | None, requested_by: str
) -> ImportJob:
    async with units() as uow:
        job = ImportJob(source=source, platform=platform, requested_by=requested_by)
        uow.session.add(job)
        await uow.session.flush()
        await IMPORT_LIFECYCLE.enter(uow, job, cause=f"requested by {requested_by or '?'}")
    return job


async def _job(uow: UnitOfWork, job_id: int) -> ImportJob:
    job = await uow.session.get(ImportJob, job_id)
    assert job is not None, f"import {job_id} vanished"
    return job


async def _save_page(units: Units, job_id: int, page: list[Any]) -> None:
    async with units() as uow:
        job = await _job(uow, job_id)
        persons = [p for p in page if isinstance(p, DirectoryEntry)]
        accounts = [a for a in page if isinstance(a, AccountFacts)]
        counts = LoadCounts()
        counts.add(await save_persons(uow.session, persons))
        counts.add(await save_accounts(uow.session, accounts))
        if job.state == ImportState.QUEUED:
            await IMPORT_LIFECYCLE.transition(uow, job, ImportState.RUNNING, cause="first page")
        job.pages, job.processed = job.pages + 1, job.processed + len(page)
        job.created += counts.created
        job.updated += counts.updated
        job.unchanged += counts.unchanged


async def run_job(
    job_id: int, pages: Callable[[], Pages], *, units: Units, target: str | None
) -> ImportJob:
    """Read the source (again after a crash, at most ``MAX_ATTEMPTS`` times), then analyse."""
    while True:
        try:
            async for page in pages():
                await _save_page(units, job_id, list(page))
        except FusionError as error:
            return await _finish(units, job_id, error=error.message)
        except Exception as error:  # a job records any failure instead of dying unseen
            log.warning("import %s: attempt failed", job_id, exc_info=True)
            gave_up = await _attempt_failed(units, job_id, error)
            if gave_up is not None:
                return gave_up
            continue
        return await _finish(units, job_id, error=None, target=target, analysed=True)


async def _attempt_failed(units: Units, job_id: int, error: Exception) -> ImportJob | None:
    """Count the attempt; the job when it has just failed for good, else None (read again)."""
    cause = f"unexpected failure ({type(error).__name__})"
    async with units() as uow:
        job = await _job(uow, job_id)
        reason = await IMPORT_LIFECYCLE.attempt_failed(uow, job, cause=cause)
        if reason is None:
            if job.state == ImportState.RUNNING:
                again = f"attempt {job.attempts} failed: {cause}; reading the source again"
                await IMPORT_LIFECYCLE.transition(uow, job, ImportState.RUNNING, cause=again)
            return None
        job.error, job.finished_at = reason[:500], utcnow()
        await uow.publish(_finished(job))
    return job


async def _finish(
    units: Units,
    job_id: int,
    *,
    error: str | None,
    target: str | None = None,
    analysed: bool = False,
) -> ImportJob:
    async with units() as uow:
        job = await _job(uow, job_id)
        if analysed:
            await analyse(uow.session, target=target)
        to = ImportState.FAILED if error else ImportState.DONE
        cause = error or f"{job.processed} record(s) in {job.pages} page(s)"
        await IMPORT_LIFECYCLE.transition(uow, job, to, cause=cause)
        job.error, job.finished_at = error, utcnow()
        await uow.publish(_finished(job))
    return job


def _finished(job: ImportJob) -> IdentityImportFinished:
    return IdentityImportFinished(
        import_id=job.id or 0,
        source=job.source,
        platform=job.platform,
        state="failed" if job.state == ImportState.FAILED else "done",
        created=job.created,
        updated=job.updated,
        unchanged=job.unchanged,
    )
