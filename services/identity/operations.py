"""What the routes and the CLI start: import jobs, plan computation, application, revert."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from fusion.errors import BadRequest, PayloadTooLarge
from fusion.moodle.client import MoodleClient
from fusion.moodle.registry import PlatformUnknown
from services.identity.files import read_directory_csv, read_ldif, read_mdl_user_csv
from services.identity.imports import Pages, as_pages, create_job, run_job
from services.identity.ldap_source import directory_pages
from services.identity.lifecycle import PlanState
from services.identity.models import Account
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


def _platform_required() -> PlatformRequired:
    return PlatformRequired(
        "This source needs a platform.", message_fr="Cette source exige une plateforme."
    )


async def _start(
    services: IdentityServices,
    pages: Callable[[], Pages],
    *,
    source: str,
    platform: str | None,
    actor: str,
) -> ImportPublic:
    job = await create_job(services.units, source=source, platform=platform, requested_by=actor)
    target = services.settings.target_platform
    services.background.spawn(
        run_job(job.id or 0, pages, units=services.units, target=target), name=f"import-{job.id}"
    )
    return ImportPublic.model_validate(job)


async def start_live_import(
    body: ImportRequest, *, services: IdentityServices, actor: str
) -> ImportPublic:
    if isinstance(body, DirectoryImportRequest):
        server = services.directory()
        return await _start(
            services, lambda: directory_pages(server), source="ldap", platform=None, actor=actor
        )
    moodle, platform = services.moodle(body.platform), body.platform
    size = services.settings.ws_page_size
    return await _start(
        services,
        lambda: platform_pages(moodle, platform, page_size=size),
        source="moodle_ws",
        platform=platform,
        actor=actor,
    )


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
    if source == "moodle_csv":
        if platform is None:
            raise _platform_required()
        accounts = read_mdl_user_csv(data, platform=platform)
        pages: Callable[[], Pages] = lambda: as_pages(accounts)  # noqa: E731
    else:
        entries = read_ldif(data) if source == "ldif" else read_directory_csv(data)
        pages, platform = (lambda: as_pages(entries)), None
    return await _start(services, pages, source=source, platform=platform, actor=actor)


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


async def _spawn_phase(
    plan_id: int, *, phase: str, services: IdentityServices, actor: str, platform: str
) -> None:
    services.background.spawn(
        run_phase(
            plan_id,
            phase=phase,
            units=services.units,
            moodle=services.moodle(platform),
            actor=actor,
            batch_size=services.settings.plan_batch_size,
            target=services.settings.target_platform,
        ),
        name=f"plan-{plan_id}-{phase}",
    )


async def start_apply(plan_id: int, *, services: IdentityServices, actor: str) -> PlanPublic:
    async with services.units() as uow:
        plan = await approve(uow, plan_id, actor=actor)
        platform, done = plan.platform, plan.state == PlanState.APPLIED
    if not done:
        await _spawn_phase(
            plan_id, phase="apply", services=services, actor=actor, platform=platform
        )
    async with services.db.session() as session:
        return await plan_public(session, plan_id)


async def start_revert(plan_id: int, *, services: IdentityServices, actor: str) -> PlanPublic:
    async with services.units() as uow:
        plan = await prepare_revert(uow, plan_id, actor=actor)
        platform = plan.platform
    await _spawn_phase(plan_id, phase="revert", services=services, actor=actor, platform=platform)
    async with services.db.session() as session:
        return await plan_public(session, plan_id)
