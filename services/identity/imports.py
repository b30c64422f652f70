"""Import jobs: a source read page by page into the store, with progress, then analysed.

A job row is created (``queued``) by the request; the work runs in the service's background
tasks, committing each page with the job's progress, so that a reader sees it advance and a
crash leaves the pages already loaded (reloading is incremental: they are then unchanged).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fusion.contracts import Envelope
from fusion.contracts.identity import IdentityImportFinished
from fusion.db import Database
from fusion.errors import FusionError
from fusion.outbox import add_to_outbox
from services.identity.analysis import analyse
from services.identity.models import ImportJob, messaging, utcnow
from services.identity.records import AccountFacts, DirectoryEntry
from services.identity.store import LoadCounts, save_accounts, save_persons

Pages = AsyncIterator[list[AccountFacts]] | AsyncIterator[list[DirectoryEntry]]


async def as_pages(items: list[Any], size: int = 1000) -> AsyncIterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def create_job(
    db: Database, *, source: str, platform: str | None, requested_by: str
) -> ImportJob:
    async with db.unit_of_work() as session:
        job = ImportJob(source=source, platform=platform, requested_by=requested_by)
        session.add(job)
    return job


async def _save_page(db: Database, job_id: int, page: list[Any]) -> None:
    async with db.unit_of_work() as session:
        job = await session.get(ImportJob, job_id)
        assert job is not None
        persons = [p for p in page if isinstance(p, DirectoryEntry)]
        accounts = [a for a in page if isinstance(a, AccountFacts)]
        counts = LoadCounts()
        counts.add(await save_persons(session, persons))
        counts.add(await save_accounts(session, accounts))
        job.state, job.pages, job.processed = "running", job.pages + 1, job.processed + len(page)
        job.created += counts.created
        job.updated += counts.updated
        job.unchanged += counts.unchanged


async def run_job(
    job_id: int, pages: Callable[[], Pages], *, db: Database, target: str | None
) -> ImportJob:
    try:
        async for page in pages():
            await _save_page(db, job_id, list(page))
    except FusionError as error:
        return await _finish(db, job_id, error=error.message)
    except Exception as error:  # a job records any failure instead of dying unseen
        return await _finish(db, job_id, error=f"unexpected failure ({type(error).__name__})")
    return await _finish(db, job_id, error=None, target=target, analysed=True)


async def _finish(
    db: Database,
    job_id: int,
    *,
    error: str | None,
    target: str | None = None,
    analysed: bool = False,
) -> ImportJob:
    async with db.unit_of_work() as session:
        job = await session.get(ImportJob, job_id)
        assert job is not None
        if analysed:
            await analyse(session, target=target)
        job.state, job.error, job.finished_at = ("failed" if error else "done"), error, utcnow()
        event = IdentityImportFinished(
            import_id=job_id,
            source=job.source,
            platform=job.platform,
            state="failed" if error else "done",
            created=job.created,
            updated=job.updated,
            unchanged=job.unchanged,
        )
        await add_to_outbox(session, Envelope.of(event), outbox=messaging.outbox)
    return job
