"""identity's HTTP API under ``/identity/v1``: thin, one call each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status

from fusion.errors import error_doc
from services.identity import operations
from services.identity.conflicts import ConflictKind
from services.identity.decisions import decide_link
from services.identity.deps import Administrator, Checker, PathId, ServicesDep, SessionDep
from services.identity.models import Account
from services.identity.queries import (
    accounts_of_person,
    conflicts_page,
    one_import,
    one_person,
    search_persons,
)
from services.identity.restore_check import restore_check
from services.identity.schemas import (
    PLATFORM,
    AccountPublic,
    ConflictsPage,
    FileSource,
    ImportPublic,
    ImportRequest,
    LinkDecisionRequest,
    LinkPublic,
    PersonAccounts,
    PersonPublic,
    PersonsPage,
    PlanPublic,
    PlanRequest,
    RestoreCheckAnswer,
    RestoreCheckRequest,
)

router = APIRouter(prefix="/identity/v1", tags=["identity"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: error_doc("Unknown id, platform or source")}
FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "id,username,email,firstname,lastname,idnumber,auth\n"
                "12,hloeuillet,helene.loeuillet@u-bordeaux.fr,Hélène,Lœuillet,21000012,cas\n",
            },
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post(
    "/imports",
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND,
    summary="Start loading a platform's accounts (Moodle WS) or the directory (LDAP)",
    description="Starts a background job; follow it with `GET /imports/{id}`. The job reads "
    "page by page, stores only what changed, then links every account and recomputes the "
    "conflicts.",
)
async def start_import(
    body: ImportRequest, services: ServicesDep, who: Administrator
) -> ImportPublic:
    return await operations.start_live_import(body, services=services, actor=who.client)


@router.post(
    "/file-imports",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 413: error_doc("The file is larger than the configured limit")},
    openapi_extra=FILE_BODY,
    summary="Load a file: a CSV export of mdl_user, or the directory as LDIF or CSV",
    description="The file is read whole and checked before anything is written (a bad line "
    "rejects it with its number); then a background job stores it like a live import.",
)
async def import_file(
    request: Request,
    services: ServicesDep,
    who: Administrator,
    source: Annotated[FileSource, Query()],
    platform: Annotated[str | None, Query(pattern=PLATFORM)] = None,
) -> ImportPublic:
    data = await operations.read_limited(request, limit=services.settings.max_import_bytes)
    return await operations.start_file_import(
        data, source=source, platform=platform, services=services, actor=who.client
    )


@router.get(
    "/imports/{import_id}",
    responses=NOT_FOUND,
    summary="An import's progress and result",
    description="State (queued, running, done, failed), pages read, accounts or persons "
    "created, updated and unchanged.",
)
async def get_import(import_id: PathId, session: SessionDep, _: Administrator) -> ImportPublic:
    return await one_import(session, import_id)


@router.get(
    "/persons",
    summary="Search persons by uid, e-mail or name (administrators only)",
    description="Personal data: only an administrator token may list persons.",
    response_description="A page of persons, with the total that match.",
)
async def list_persons(
    session: SessionDep,
    _: Administrator,
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> PersonsPage:
    return await search_persons(session, q=q, offset=offset, limit=limit)


@router.get(
    "/persons/{person_id}",
    responses=NOT_FOUND,
    summary="One person with every account and link",
    description="Each link says its method (key or fuzzy), score, status (applied, proposed, "
    "confirmed, rejected) and reason.",
)
async def get_person(person_id: PathId, session: SessionDep, _: Administrator) -> PersonPublic:
    return await one_person(session, person_id)


@router.get(
    "/persons/by-uid/{uid}/accounts",
    responses=NOT_FOUND,
    summary="The accounts a person (by directory uid) holds on one platform",
    description="For the orchestrator's teacher check: maps the requester's login to their "
    "account(s) on a platform, through accepted links only (applied by an exact key, or "
    "confirmed). Answers ids and usernames, never e-mails or names; administrators and "
    "services only.",
)
async def person_accounts(
    uid: Annotated[str, Path(pattern=r"^[A-Za-z0-9._@-]{1,100}$")],
    platform: Annotated[str, Query(pattern=PLATFORM)],
    services: ServicesDep,
    session: SessionDep,
    _: Checker,
) -> PersonAccounts:
    await operations.known_platform(platform, services=services, session=session)
    return await accounts_of_person(session, uid=uid, platform=platform)


@router.get(
    "/conflicts",
    summary="Conflicts, filtered by kind and platform, paged",
    description="Kinds: " + ", ".join(k.value for k in ConflictKind) + ". Each conflict names "
    "its accounts and suggests a resolution (in English and French).",
)
async def list_conflicts(
    session: SessionDep,
    _: Administrator,
    kind: ConflictKind | None = None,
    platform: Annotated[str | None, Query(pattern=PLATFORM)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ConflictsPage:
    found = await conflicts_page(
        session, kind=kind.value if kind else None, platform=platform, offset=offset, limit=limit
    )
    return found


@router.post(
    "/accounts/{account_id}/link",
    responses=NOT_FOUND,
    summary="Confirm or reject an account's link to a person",
    description="Confirms a proposal (or links an account by hand), or rejects it; the linker "
    "never overrides the decision, and the conflicts are recomputed at once.",
)
async def decide(
    account_id: PathId,
    body: LinkDecisionRequest,
    services: ServicesDep,
    session: SessionDep,
    who: Administrator,
) -> LinkPublic:
    link = await decide_link(
        session,
        account_id,
        person_id=body.person_id,
        confirm=body.decision == "confirm",
        actor=who.client,
        target=services.settings.target_platform,
    )
    account = await session.get(Account, account_id)
    return LinkPublic(
        account=AccountPublic.model_validate(account),
        method=link.method,
        score=link.score,
        status=link.status,
        reason=link.reason,
    )


@router.post(
    "/plans",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
    summary="Compute a homogenisation plan for one platform (a preview: nothing is changed)",
    description="Every linked account gets its person's directory values; changes are ordered "
    "in rounds so that Moodle refuses none (swaps go through a temporary value). Changes that "
    "cannot be made (a value held by an account the plan leaves alone) are listed as blocked.",
)
async def create_plan(body: PlanRequest, services: ServicesDep, _: Administrator) -> PlanPublic:
    return await operations.compute(body.platform, services=services)


@router.get(
    "/plans/{plan_id}",
    responses=NOT_FOUND,
    summary="A plan: its steps (preview) and progress",
    description="Steps carry [previous, new] values per field, their round and their status.",
)
async def get_plan(plan_id: PathId, session: SessionDep, _: Administrator) -> PlanPublic:
    return await operations.plan_public(session, plan_id)


@router.post(
    "/plans/{plan_id}/apply",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 409: error_doc("The plan was reverted or is being reverted")},
    summary="Approve and apply a plan on its platform",
    description="Runs in the background, round by round, through core_user_update_users; "
    "every change is audited with its previous value. Applying an applied plan changes nothing.",
)
async def apply_plan(plan_id: PathId, services: ServicesDep, who: Administrator) -> PlanPublic:
    return await operations.start_apply(plan_id, services=services, actor=who.client)


@router.post(
    "/plans/{plan_id}/revert",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 409: error_doc("The plan was not applied")},
    summary="Revert an applied plan: every changed value back to what it was",
    description="The previous values come from the audit trail; the reverse changes are "
    "ordered like a plan's.",
)
async def revert_plan(plan_id: PathId, services: ServicesDep, who: Administrator) -> PlanPublic:
    return await operations.start_revert(plan_id, services=services, actor=who.client)


@router.post(
    "/restore-check",
    responses=NOT_FOUND,
    summary="What the target's restore would do with each user of a backup",
    description="Replays Moodle's restore user matching (restore_dbops::precheck_user) on the "
    "target's accounts, read again from its web services first: each user maps to an existing "
    "account, will be created, or is a conflict that makes the restore fail, with the case "
    "(1A…2E) and the reason in English and French.",
)
async def check_restore(
    body: RestoreCheckRequest, services: ServicesDep, session: SessionDep, _: Checker
) -> RestoreCheckAnswer:
    moodle = await operations.known_platform(body.platform, services=services, session=session)
    return await restore_check(
        body,
        session=session,
        moodle=moodle,
        site_hashes=services.settings.site_identifier_hashes,
    )
