"""The API's request and response models (what Moodle plugins and other services see)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from fusion.bodies import RequestBody
from services.apogee_api.catalogue import Kind

CODE_PATTERN = r"^[A-Za-z0-9_\-]{1,24}$"
MAX_CODE_LENGTH = 24
MAX_BULK_CODES = 10_000
MAX_VALIDATE_CODES = 1_000
MAX_ETAG_LENGTH = 128

CheckStatus = Literal["valid", "unknown", "closed", "not_offered"]


class YearPublic(BaseModel):
    """The academic year open for enrolment and every year Apogée knows."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"year": 2026, "label": "2026/2027", "years": [2025, 2026]}]
        }
    )

    year: int = Field(examples=[2026])
    label: str = Field(examples=["2026/2027"])
    years: list[int] = Field(
        description="Every academic year Apogée knows", examples=[[2025, 2026]]
    )


class CodeRef(BaseModel):
    """A code and what it is, as other answers refer to it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "AS000011", "kind": "elp", "label": "S1 Mathématiques"}]
        }
    )

    code: str = Field(examples=["L1A001-1"])
    kind: Kind
    label: str | None = Field(default=None, examples=["Licence 1re année Mathématiques"])


class ComponentPublic(BaseModel):
    """The component (UFR, institute) a code belongs to."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "A00", "label": "UFR Sciences et technologies"}]}
    )

    code: str = Field(examples=["A00"])
    label: str | None = Field(examples=["UFR Sciences et technologies"])


class CodePublic(CodeRef):
    """One code: label, component, parents, whether it is open and offered in the year."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "AU000012",
                    "kind": "elp",
                    "label": "UE1 Analyse",
                    "short_label": "UE1 Analyse",
                    "nature": "UE",
                    "component": {"code": "A00", "label": "UFR Sciences et technologies"},
                    "parents": [{"code": "AS000011", "kind": "elp", "label": "S1 Mathématiques"}],
                    "period": "S1",
                    "year": 2026,
                    "status": "valid",
                    "open": True,
                    "reason": None,
                    "reason_fr": None,
                    "member_count": 87,
                }
            ]
        }
    )

    short_label: str | None = None
    nature: str | None = Field(default=None, description="COD_NEL of an ELP, COD_TGR of a group")
    component: ComponentPublic | None = None
    parents: list[CodeRef] = Field(default_factory=list)
    period: str | None = Field(default=None, examples=["S1"])
    year: int
    status: Literal["valid", "closed", "not_offered"]
    open: bool
    reason: str | None = None
    reason_fr: str | None = None
    member_count: int = Field(description="Students counted at the last catalogue refresh")


class SearchHit(CodeRef):
    """One code found by a search."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "AU000012",
                    "kind": "elp",
                    "label": "UE1 Analyse",
                    "component": "A00",
                    "period": "S1",
                }
            ]
        }
    )

    component: str | None = None
    period: str | None = None


class SearchResults(BaseModel):
    """The codes matching a search, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "analyse",
                    "year": 2026,
                    "results": [
                        {
                            "code": "AU000012",
                            "kind": "elp",
                            "label": "UE1 Analyse",
                            "component": "A00",
                            "period": "S1",
                        }
                    ],
                }
            ]
        }
    )

    query: str
    year: int
    results: list[SearchHit]


class ValidateRequest(RequestBody):
    """Codes to check, for a year (the current one if omitted)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"codes": ["L1A001-1", "AU000012", "NOPE"], "year": 2026}]}
    )

    # Any spelling up to a code's length (a longer one is refused, never echoed back).
    codes: list[Annotated[str, Field(max_length=MAX_CODE_LENGTH)]] = Field(
        min_length=1, max_length=MAX_VALIDATE_CODES
    )
    year: int | None = None


class CodeCheck(BaseModel):
    """The verdict on one code, with the reason in English and French."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "AU000013",
                    "status": "closed",
                    "kind": "elp",
                    "label": "UE2 Algèbre",
                    "reason": "This teaching element is closed in Apogée.",
                    "reason_fr": "Cet élément pédagogique est fermé dans Apogée.",
                }
            ]
        }
    )

    code: str
    status: CheckStatus
    kind: Kind | None = None
    label: str | None = None
    reason: str | None = None
    reason_fr: str | None = None


class ValidateResponse(BaseModel):
    """The verdict on each code sent, in request order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "year": 2026,
                    "results": [
                        {
                            "code": "NOPE",
                            "status": "unknown",
                            "kind": None,
                            "label": None,
                            "reason": "Unknown code.",
                            "reason_fr": "Code inconnu.",
                        }
                    ],
                }
            ]
        }
    )

    year: int
    results: list[CodeCheck]


class MemberPublic(BaseModel):
    """A student as a roster shows them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cod_etu": "21900001",
                    "last_name": "DUPONT",
                    "first_name": "Léa",
                    "ine": "1234500007K",
                }
            ]
        }
    )

    cod_etu: str = Field(examples=["21900001"])
    last_name: str = Field(examples=["DUPONT"])
    first_name: str = Field(examples=["Léa"])
    ine: str | None = Field(default=None, examples=["1234500007K"])


class MembersPublic(BaseModel):
    """The students of a code in a year and the ETag of that list."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "AU000012",
                    "kind": "elp",
                    "year": 2026,
                    "etag": "5f1d0c2e9a7b4c3d",
                    "members": [
                        {
                            "cod_etu": "21900001",
                            "last_name": "DUPONT",
                            "first_name": "Léa",
                            "ine": None,
                        }
                    ],
                }
            ]
        }
    )

    code: str
    kind: Kind
    year: int
    etag: str
    members: list[MemberPublic]


class BulkRequest(RequestBody):
    """Codes whose members to read, and the ETags the caller already holds."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "year": 2026,
                    "codes": ["L1A001-1", "AU000012"],
                    "if_none_match": {"AU000012": "5f1d0c2e9a7b4c3d8e6f1a2b3c4d5e6f"},
                    "with_groups": True,
                }
            ]
        }
    )

    year: int | None = None
    # Any spelling up to a code's length (an unknown one gets its "unknown" line).
    codes: list[Annotated[str, Field(max_length=MAX_CODE_LENGTH)]] = Field(
        min_length=1, max_length=MAX_BULK_CODES
    )
    if_none_match: dict[
        Annotated[str, Field(max_length=MAX_CODE_LENGTH)],
        Annotated[str, Field(max_length=MAX_ETAG_LENGTH)],
    ] = Field(default_factory=dict, max_length=MAX_BULK_CODES)
    with_groups: bool = True


class GroupPublic(BaseModel):
    """A group or série of a code."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "AU000012TD1",
                    "label": "TD 1",
                    "kind": "group",
                    "type": "TD",
                    "member_count": 24,
                }
            ]
        }
    )

    code: str = Field(examples=["AU000012TD1"])
    label: str = Field(examples=["TD 1"])
    kind: Literal["group", "serie"]
    type: str | None = Field(default=None, description="COD_TGR: TD, TP, SER…")
    member_count: int


class GroupsPublic(BaseModel):
    """The groups and séries of a code in a year."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "AU000012",
                    "year": 2026,
                    "groups": [
                        {
                            "code": "AU000012TD1",
                            "label": "TD 1",
                            "kind": "group",
                            "type": "TD",
                            "member_count": 24,
                        }
                    ],
                }
            ]
        }
    )

    code: str
    year: int
    groups: list[GroupPublic]


class StudentPublic(BaseModel):
    """A student's identity and registrations in a year."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cod_etu": "21900001",
                    "last_name": "DUPONT",
                    "first_name": "Léa",
                    "ine": "1234500007K",
                    "year": 2026,
                    "vets": [
                        {"code": "L1A001-1", "kind": "vet", "label": "Licence 1 Mathématiques"}
                    ],
                    "elps": [{"code": "AU000012", "kind": "elp", "label": "UE1 Analyse"}],
                    "groups": [],
                }
            ]
        }
    )

    cod_etu: str
    last_name: str
    first_name: str
    ine: str | None
    year: int
    vets: list[CodeRef]
    elps: list[CodeRef]
    groups: list[CodeRef]
