"""Import jobs: a source read page by page into the store, with progress, then analysed.

A job row is created (``queued``) by the request; the work runs in the service's background
tasks, committing each page with the job's progress, so that a reader sees it advance and a
crash leaves the pages already loaded (reloading is incremental: they are then unchanged). The
job's moves follow ``IMPORT_LIFECYCLE`` (services/identity/lifecycle.py): a Fusion error fails
it at once, any other exception is a failed attempt and the source is read again, until the
last attempt fails the job with the reason (in English and French).

The job holds a lease (services/identity/leases.py) from its creation: every transaction of the
run is fenced by it, a heartbeat renews it, the last transaction frees it; a run another
process took over stops at its next fence. A file import keeps its file
(``identity_import_file``) until it ends, so that a run interrupted by a restart can read it
again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fusion.contracts.identity import IdentityImportFinished
from fusion.errors import FusionError
from fusion.unit_of_work import UnitOfWork
from services.identity.analysis import analyse
from services.identity.leases import Lease, LeaseLost
from services.identity.lifecycle import IMPORT_LIFECYCLE, ImportState
from services.identity.models import ImportFile, ImportJob, utcnow
from services.identity.records import AccountFacts, DirectoryEntry
from services.identity.resources import Units
from services.identity.store import LoadCounts, save_accounts, save_persons

log = logging.getLogger(__name__)

Pages = AsyncIterator[list[AccountFacts]] | AsyncIterator[list[DirectoryEntry]]


async def as_pages(items: list[Any], size: int = 1000) -> AsyncIterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def create_job(
    units: Units,
    *,
    source: str,
    platform: str | None,
    requested_by: str,
    lease_seconds: float,
    data: bytes | None = None,
) -> tuple[ImportJob, Lease]:
    """A queued job, held by the lease its run is given; ``data``: the file it reads."""
    async with units() as uow:
        job = ImportJob(source=source, platform=platform, requested_by=requested_by)
        uow.session.add(job)
        await uow.session.flush()
        lease = Lease.grant(job, seconds=lease_seconds)
        if data is not None:
            uow.session.add(ImportFile(import_id=job.id or 0, data=data))
        await IMPORT_LIFECYCLE.enter(uow, job, cause=f"requested by {requested_by or '?'}")
    return job, lease


async def stored_file(units: Units, job_id: int) -> bytes | None:
    async with units() as uow:
        kept = await uow.session.get(ImportFile, job_id)
        return None if kept is None else kept.data


async def _job(uow: UnitOfWork, job_id: int) -> ImportJob:
    job = await uow.session.get(ImportJob, job_id)
    assert job is not None, f"import {job_id} vanished"
    return job


async def _save_page(units: Units, lease: Lease, page: list[Any]) -> None:
    async with units() as uow:
        await lease.fence(uow.session)
        job = await _job(uow, lease.entity_id)
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
    pages: Callable[[], Pages], *, lease: Lease, units: Units, target: str | None
) -> ImportJob:
    """Read the source (again after a crash, at most ``MAX_ATTEMPTS`` times), then analyse.
    A run another process took over stops there; a cancelled one gives its lease back."""
    try:
        async with lease.kept(units):
            return await _attempts(pages, lease=lease, units=units, target=target)
    except LeaseLost:
        log.info("import %s: taken over by another process, this run stops", lease.entity_id)
    except asyncio.CancelledError:
        await lease.give_back(units)
        raise
    async with units() as uow:
        return await _job(uow, lease.entity_id)


async def _attempts(
    pages: Callable[[], Pages], *, lease: Lease, units: Units, target: str | None
) -> ImportJob:
    while True:
        try:
            async for page in pages():
                await _save_page(units, lease, list(page))
            return await _finish(units, lease, error=None, target=target, analysed=True)
        except (LeaseLost, asyncio.CancelledError):
            raise
        except FusionError as error:
            return await _finish(units, lease, error=(error.message, error.message_fr))
        except Exception as error:  # a job records any failure instead of dying unseen
            log.warning("import %s: attempt failed", lease.entity_id, exc_info=True)
            gave_up = await _attempt_failed(units, lease, error)
            if gave_up is not None:
                return gave_up


def gave_up_fr(attempts: int, cause_fr: str) -> str:
    return f"abandon après {attempts} tentatives : {cause_fr}"[:500]


async def _attempt_failed(units: Units, lease: Lease, error: Exception) -> ImportJob | None:
    """Count the attempt; the job when it has just failed for good, else None (read again)."""
    cause = f"unexpected failure ({type(error).__name__})"
    async with units() as uow:
        await lease.fence(uow.session)
        job = await _job(uow, lease.entity_id)
        reason = await IMPORT_LIFECYCLE.attempt_failed(uow, job, cause=cause)
        if reason is None:
            if job.state == ImportState.RUNNING:
                again = f"attempt {job.attempts} failed: {cause}; reading the source again"
                await IMPORT_LIFECYCLE.transition(uow, job, ImportState.RUNNING, cause=again)
            return None
        cause_fr = f"échec imprévu ({type(error).__name__})"
        await end_job(uow, job, lease, error=(reason, gave_up_fr(job.attempts, cause_fr)))
    return job


async def end_job(
    uow: UnitOfWork, job: ImportJob, lease: Lease | None, *, error: tuple[str, str] | None
) -> None:
    """The end of a job (already moved to its last state): its reason, its file dropped, its
    lease freed, ``identity.import_finished`` published."""
    job.error, job.error_fr = (None, None) if error is None else (error[0][:500], error[1][:500])
    job.finished_at = utcnow()
    kept = await uow.session.get(ImportFile, job.id)
    if kept is not None:
        await uow.session.delete(kept)
    if lease is not None:
        await lease.end(uow.session)
    await uow.publish(_finished(job))


async def _finish(
    units: Units,
    lease: Lease,
    *,
    error: tuple[str, str] | None,
    target: str | None = None,
    analysed: bool = False,
) -> ImportJob:
    async with units() as uow:
        await lease.fence(uow.session)
        job = await _job(uow, lease.entity_id)
        if analysed:
            await analyse(uow.session, target=target)
        to = ImportState.FAILED if error else ImportState.DONE
        cause = error[0] if error else f"{job.processed} record(s) in {job.pages} page(s)"
        await IMPORT_LIFECYCLE.transition(uow, job, to, cause=cause)
        await end_job(uow, job, lease, error=error)
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
