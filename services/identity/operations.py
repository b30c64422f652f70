"""What the routes and the CLI start: import jobs, plan computation, application, revert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import BadRequest, PayloadTooLarge
from fusion.moodle.client import MoodleClient
from fusion.moodle.registry import PlatformUnknown
from services.identity.files import read_directory_csv, read_ldif, read_mdl_user_csv
from services.identity.imports import Pages, as_pages, create_job, run_job, stored_file
from services.identity.ldap_source import directory_pages
from services.identity.leases import Lease
from services.identity.models import Account, ImportJob
from services.identity.moodle_source import platform_pages
from services.identity.plan_runs import approve, run_phase
from services.identity.plan_runs import start_revert as prepare_revert
from services.identity.plans import compute_plan, get_plan
from services.identity.resources import IdentityServices
from services.identity.schemas import (
    DirectoryImportRequest,
    ImportPublic,
    ImportRequest,
    PlanPublic,
    PlanStepPublic,
)


class PlatformRequired(BadRequest):
    code = "platform_required"


class FileNotKept(BadRequest):
    code = "import_file_not_kept"


def _platform_required() -> PlatformRequired:
    return PlatformRequired(
        "This source needs a platform.", message_fr="Cette source exige une plateforme."
    )


def job_pages(job: ImportJob, services: IdentityServices) -> Pages:
    """The pages of a job's source, read again from the start: what a run (the first, or one
    resuming an interrupted job) reads. A source that is gone (a platform no longer
    configured, a file not kept) fails the run with the reason."""
    source, platform, job_id = job.source, job.platform, job.id or 0

    async def pages() -> AsyncIterator[list[Any]]:
        if source == "ldap":
            reader: AsyncIterator[list[Any]] = directory_pages(services.directory())
        elif source == "moodle_ws":
            name = platform or ""
            size = services.settings.ws_page_size
            reader = platform_pages(services.moodle(name), name, page_size=size)
        else:
            data = await stored_file(services.units, job_id)
            if data is None:
                raise FileNotKept(
                    "The imported file was not kept: import it again.",
                    message_fr="Le fichier importé n'a pas été conservé : importez-le à nouveau.",
                )
            reader = as_pages(parse_file(data, source=source, platform=platform))
        async for page in reader:
            yield page

    return pages()


def parse_file(data: bytes, *, source: str, platform: str | None) -> list[Any]:
    if source == "moodle_csv":
        if platform is None:
            raise _platform_required()
        return list(read_mdl_user_csv(data, platform=platform))
    return list(read_ldif(data) if source == "ldif" else read_directory_csv(data))


def spawn_import(job: ImportJob, lease: Lease, *, services: IdentityServices) -> None:
    services.background.spawn(
        run_job(
            lambda: job_pages(job, services),
            lease=lease,
            units=services.units,
            target=services.settings.target_platform,
        ),
        name=f"import-{job.id}",
    )


async def _start(
    services: IdentityServices,
    *,
    source: str,
    platform: str | None,
    actor: str,
    data: bytes | None = None,
) -> ImportPublic:
    job, lease = await create_job(
        services.units,
        source=source,
        platform=platform,
        requested_by=actor,
        lease_seconds=services.settings.job_lease_seconds,
        data=data,
    )
    spawn_import(job, lease, services=services)
    return ImportPublic.model_validate(job)


async def start_live_import(
    body: ImportRequest, *, services: IdentityServices, actor: str
) -> ImportPublic:
    if isinstance(body, DirectoryImportRequest):
        services.directory()  # refused at once when none is configured
        return await _start(services, source="ldap", platform=None, actor=actor)
    services.moodle(body.platform)
    return await _start(services, source="moodle_ws", platform=body.platform, actor=actor)


async def read_limited(request: Request, *, limit: int) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise PayloadTooLarge(
                f"The file is larger than {limit} bytes.",
                message_fr=f"Le fichier dépasse {limit} octets.",
            )
    return bytes(data)


async def start_file_import(
    data: bytes, *, source: str, platform: str | None, services: IdentityServices, actor: str
) -> ImportPublic:
    parse_file(data, source=source, platform=platform)  # a bad file is refused before any write
    if source != "moodle_csv":
        platform = None
    return await _start(services, source=source, platform=platform, actor=actor, data=data)


async def known_platform(
    platform: str, *, services: IdentityServices, session: AsyncSession
) -> MoodleClient | None:
    """The platform's client; None for a platform known only from a loaded file."""
    if platform in services.moodles:
        return services.moodles[platform]
    loaded = await session.scalar(
        select(col(Account.id)).where(col(Account.platform) == platform).limit(1)
    )
    if loaded is None:
        raise PlatformUnknown(
            f"No platform '{platform}' is configured or loaded.",
            message_fr=f"Aucune plateforme « {platform} » n'est configurée ni chargée.",
        )
    return None


async def plan_public(session: AsyncSession, plan_id: int) -> PlanPublic:
    plan, steps = await get_plan(session, plan_id)
    public = PlanPublic.model_validate(plan)
    return public.model_copy(update={"steps": [PlanStepPublic.model_validate(s) for s in steps]})


async def compute(platform: str, *, services: IdentityServices) -> PlanPublic:
    services.moodle(platform)  # a plan is only for a platform it can be applied to
    async with services.units() as uow:
        plan = await compute_plan(uow, platform=platform)
    async with services.db.session() as session:
        return await plan_public(session, plan.id or 0)


def spawn_phase(
    lease: Lease, *, phase: str, services: IdentityServices, actor: str, platform: str
) -> None:
    services.background.spawn(
        run_phase(
            lease=lease,
            phase=phase,
            units=services.units,
            moodle=services.moodle(platform),
            actor=actor,
            batch_size=services.settings.plan_batch_size,
            target=services.settings.target_platform,
        ),
        name=f"plan-{lease.entity_id}-{phase}",
    )


async def begin_phase(
    plan_id: int, *, phase: str, services: IdentityServices, actor: str
) -> tuple[str, Lease | None]:
    """Approve (or ask the revert of) a plan: its platform, and the lease of the run to start
    (None: nothing to run, or another live run is at it)."""
    seconds = services.settings.job_lease_seconds
    async with services.units() as uow:
        if phase == "apply":
            plan, lease = await approve(uow, plan_id, actor=actor, lease_seconds=seconds)
        else:
            plan, lease = await prepare_revert(uow, plan_id, actor=actor, lease_seconds=seconds)
        platform = plan.platform
    return platform, lease


async def _start_phase(
    plan_id: int, *, phase: str, services: IdentityServices, actor: str
) -> PlanPublic:
    platform, lease = await begin_phase(plan_id, phase=phase, services=services, actor=actor)
    if lease is not None:
        spawn_phase(lease, phase=phase, services=services, actor=actor, platform=platform)
    async with services.db.session() as session:
        return await plan_public(session, plan_id)


async def start_apply(plan_id: int, *, services: IdentityServices, actor: str) -> PlanPublic:
    return await _start_phase(plan_id, phase="apply", services=services, actor=actor)


async def start_revert(plan_id: int, *, services: IdentityServices, actor: str) -> PlanPublic:
    return await _start_phase(plan_id, phase="revert", services=services, actor=actor)
