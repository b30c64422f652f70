"""Support's identity pages: conflicts to resolve, a plan's preview, its approval."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from fusion.errors import FusionError
from services.migration_orchestrator.clients.identity_answers import Conflicts
from services.migration_orchestrator.pages.deps import AdminDep, CsrfDep, PagesDep
from services.migration_orchestrator.pages.resources import PAGES_PREFIX
from services.migration_orchestrator.pages.routes_session import redirect

router = APIRouter(prefix=f"{PAGES_PREFIX}/admin/identity", include_in_schema=False)
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1)]


Platform = Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,32}$")]
Kind = Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")]


@router.get("")
async def conflicts(
    request: Request, pages: PagesDep, _: AdminDep, platform: Platform = None, kind: Kind = None
) -> Response:
    found = await pages.identity.conflicts(platform=platform, kind=kind, limit=25)
    context = {
        "section": "admin",
        "conflicts": found,
        "usernames": await _usernames(pages, found),
        "platforms": [p.name for p in pages.platforms],
        "chosen": {"platform": platform or "", "kind": kind or ""},
    }
    return pages.web.render(request, "identity.html", context)


async def _usernames(pages: PagesDep, found: Conflicts) -> dict[tuple[str, int], str]:
    """The login of each account a conflict names by (platform, Moodle id), asked of its
    platform: support reads "ub1: jdupont", not a number. A platform that does not answer
    leaves its numbers."""
    wanted: dict[str, set[int]] = {}
    for conflict in found.items:
        for account in conflict.accounts:
            if isinstance(account, list) and len(account) == 2 and isinstance(account[1], int):
                wanted.setdefault(str(account[0]), set()).add(account[1])
    names: dict[tuple[str, int], str] = {}
    for platform, ids in wanted.items():
        try:
            users = await pages.moodle(platform).get_users_by_field("id", sorted(ids))
        except (FusionError, httpx.HTTPError):
            continue
        names.update({(platform, int(u["id"])): str(u["username"]) for u in users})
    return names


# The blocked migration a plan was prepared from: its page links back to it.
FromMigration = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _plan_url(plan_id: int, migration: int | None) -> str:
    back = f"?migration={migration}" if migration is not None else ""
    return f"{PAGES_PREFIX}/admin/identity/plans/{plan_id}{back}"


@router.post("/plans")
async def prepare_plan(
    pages: PagesDep,
    _: AdminDep,
    __: CsrfDep,
    platform: Annotated[str, Form(max_length=32)],
    migration: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """A preview: identity computes the changes and changes nothing until it is approved."""
    plan = await pages.identity.new_plan(platform)
    return redirect(_plan_url(plan.id, migration))


@router.get("/plans/{plan_id}")
async def plan_page(
    request: Request,
    plan_id: PlanId,
    pages: PagesDep,
    _: AdminDep,
    migration: FromMigration = None,
) -> Response:
    context = {
        "section": "admin",
        "plan": await pages.identity.plan(plan_id),
        "migration": migration,
    }
    return pages.web.render(request, "plan.html", context)


@router.get("/plans/{plan_id}/live")
async def plan_live(
    request: Request,
    plan_id: PlanId,
    pages: PagesDep,
    _: AdminDep,
    migration: FromMigration = None,
) -> Response:
    """The plan's state, fetched again by the page's script while it is being applied."""
    context = {"plan": await pages.identity.plan(plan_id), "migration": migration}
    return pages.web.render(request, "_plan_live.html", context)


@router.post("/plans/{plan_id}/apply")
async def approve_plan(
    plan_id: PlanId, pages: PagesDep, _: AdminDep, __: CsrfDep, migration: FromMigration = None
) -> Response:
    await pages.identity.apply(plan_id)
    return redirect(_plan_url(plan_id, migration))
