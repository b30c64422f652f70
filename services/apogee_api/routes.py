from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import StreamingResponse

from fusion.auth import require_role
from fusion.errors import error_doc
from fusion.settings import Role
from services.apogee_api import bulk, codes, rosters
from services.apogee_api.catalogue import Kind
from services.apogee_api.deps import (
    CodeDep,
    CodeLookupDep,
    DatabaseDep,
    SettingsDep,
    SnapshotDep,
    YearDep,
)
from services.apogee_api.etags import header_value, matches
from services.apogee_api.schemas import (
    BulkRequest,
    CodePublic,
    GroupsPublic,
    MembersPublic,
    SearchResults,
    StudentPublic,
    ValidateRequest,
    ValidateResponse,
    YearPublic,
)

# Every route's roles; the code lookup's answers are cached for them (``lookup_cache``).
LOOKUP_ROLES: tuple[Role, ...] = ("admin", "service", "plugin")
LOOKUP_PATH = "/apogee/v1/codes/{code}"
router = APIRouter(
    prefix="/apogee/v1",
    tags=["apogee"],
    dependencies=[Depends(require_role(*LOOKUP_ROLES))],
)

ERRORS: dict[int | str, dict[str, Any]] = {
    404: error_doc("Unknown code, year or student"),
}
# Rosters and student records carry names and INE: the sync and operators read them; a plugin
# (the course-creation form) needs codes and their member counts, never a list of people.
PERSONAL_DATA = [Depends(require_role("admin", "service"))]
NDJSON_EXAMPLE = (
    '{"code": "AU000012", "status": "ok", "kind": "elp", "etag": "5f1d…", "members": '
    '[{"cod_etu": "21900001", "last_name": "DUPONT", "first_name": "Léa", "ine": null}], '
    '"groups": [{"code": "AU000012TD1", "label": "TD 1", "kind": "group", '
    '"members": ["21900001"]}]}\n{"code": "NOPE", "status": "unknown"}\n'
)


@router.get("/years/current", responses=ERRORS)
async def current_year(snapshot: SnapshotDep) -> YearPublic:
    """The academic year open for enrolment (ETA_ANU_IAE = 'O') and every year Apogée knows."""
    catalogue = snapshot.catalogue
    return YearPublic(
        year=catalogue.current_year,
        label=catalogue.years[catalogue.current_year],
        years=sorted(catalogue.years),
    )


@router.get("/codes", responses=ERRORS)
async def search_codes(
    snapshot: SnapshotDep,
    year: YearDep,
    q: Annotated[str, Query(min_length=1, max_length=100, examples=["math analyse"])],
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> SearchResults:
    """Autocomplete: code prefix or words of the label (accents and case ignored); open codes
    offered in ``year`` only."""
    hits = codes.search(snapshot.index, q, kind=kind, year=year, limit=limit)
    return SearchResults(query=q, year=year, results=hits)


@router.post("/codes:validate", responses=ERRORS)
async def validate_codes(body: ValidateRequest, snapshot: SnapshotDep) -> ValidateResponse:
    """Check up to 1,000 codes at once for a year: valid, unknown, closed or not offered, with
    the reason in English and French (what a course-creation form shows)."""
    year = codes.resolve_year(snapshot.catalogue, body.year)
    return ValidateResponse(
        year=year, results=[codes.check(snapshot.catalogue, code, year=year) for code in body.codes]
    )


@router.get(LOOKUP_PATH.removeprefix("/apogee/v1"), responses=ERRORS)
async def get_code(lookup: CodeLookupDep) -> CodePublic:
    """One code (VET, ELP, group or série): its label, component, parents, whether it is open
    and offered in the year, and its member count at the last catalogue refresh."""
    return codes.describe(lookup.snapshot.catalogue, lookup.entry, year=lookup.year)


@router.get(
    "/codes/{code}/members",
    dependencies=PERSONAL_DATA,
    responses={
        **ERRORS,
        304: {"description": "The roster's ETag matches If-None-Match"},
    },
)
async def get_members(
    entry: CodeDep,
    year: YearDep,
    database: DatabaseDep,
    settings: SettingsDep,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> MembersPublic:
    """The students of a code in a year, read live from Apogée with the filters every public
    integration applies (IA in force, accepted payment states). The ETag changes when the list
    of students does: send it back in If-None-Match to get 304."""
    roster = await rosters.members(
        database, entry, year=year, payment_states=settings.payment_states
    )
    response.headers["ETag"] = header_value(roster.etag)
    if matches(if_none_match, roster.etag):
        return _not_modified(roster.etag)  # type: ignore[return-value]
    return roster


def _not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": header_value(etag)})


@router.post(
    "/members:bulk",
    dependencies=PERSONAL_DATA,
    response_class=StreamingResponse,
    responses={
        **ERRORS,
        200: {
            "content": {"application/x-ndjson": {"example": NDJSON_EXAMPLE}},
            "description": "One JSON line per requested code, in request order",
        },
    },
)
async def members_bulk(
    body: BulkRequest, snapshot: SnapshotDep, database: DatabaseDep, settings: SettingsDep
) -> StreamingResponse:
    """The members of many codes (up to 10,000) as NDJSON, one line per code in request order;
    a code whose ETag matches `if_none_match` gets a `not_modified` line without its members.
    What the enrolment sync reads."""
    year = codes.resolve_year(snapshot.catalogue, body.year)
    lines = bulk.bulk_lines(
        database,
        snapshot.catalogue,
        body.codes,
        year=year,
        if_none_match=body.if_none_match,
        with_groups=body.with_groups,
        payment_states=settings.payment_states,
        chunk_size=settings.bulk_chunk_size,
    )
    return StreamingResponse(lines, media_type="application/x-ndjson")


@router.get("/codes/{code}/groups", responses=ERRORS)
async def get_groups(entry: CodeDep, year: YearDep, snapshot: SnapshotDep) -> GroupsPublic:
    """The groups and séries attached to a code in a year, with their member counts."""
    return GroupsPublic(
        code=entry.code, year=year, groups=codes.groups(snapshot.catalogue, entry, year=year)
    )


@router.get("/students/{cod_etu}", dependencies=PERSONAL_DATA, responses=ERRORS)
async def get_student(
    cod_etu: Annotated[int, Path(ge=1, le=99_999_999, examples=[21900001])],
    year: YearDep,
    snapshot: SnapshotDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> StudentPublic:
    """One student's identity and registrations in a year: the VETs, ELPs and groups they are
    in."""
    return await rosters.student(
        database, snapshot.catalogue, cod_etu, year=year, payment_states=settings.payment_states
    )
