"""Answers about codes from the catalogue alone: lookup, validation, search, groups."""

from __future__ import annotations

from fusion.errors import NotFound
from services.apogee_api.catalogue import Catalogue, CodeEntry, Kind
from services.apogee_api.schemas import (
    CodeCheck,
    CodePublic,
    CodeRef,
    ComponentPublic,
    GroupPublic,
    SearchHit,
)
from services.apogee_api.search import SearchIndex


class CodeUnknown(NotFound):
    code = "apogee_code_unknown"


class YearUnknown(NotFound):
    code = "apogee_year_unknown"


def resolve_year(catalogue: Catalogue, year: int | None) -> int:
    if year is None:
        return catalogue.current_year
    if year not in catalogue.years:
        raise YearUnknown(
            f"Apogée has no academic year {year}.",
            message_fr=f"L'année universitaire {year} n'existe pas dans Apogée.",
            details={"years": sorted(catalogue.years)},
        )
    return year


def find_code(catalogue: Catalogue, code: str) -> CodeEntry:
    entry = catalogue.get(code)
    if entry is None:
        raise CodeUnknown(
            f"The code {code!r} is not an Apogée VET, ELP, group or série.",
            message_fr=f"Le code « {code} » n'existe pas dans Apogée "
            "(ni étape, ni élément, ni groupe).",
        )
    return entry


def ref(catalogue: Catalogue, code: str, kind: Kind) -> CodeRef:
    entry = catalogue.entries.get(code)
    return CodeRef(code=code, kind=kind, label=entry.label if entry else None)


def describe(catalogue: Catalogue, entry: CodeEntry, *, year: int) -> CodePublic:
    verdict = catalogue.verdict(entry, year)
    component = None
    if entry.component:
        component = ComponentPublic(
            code=entry.component, label=catalogue.components.get(entry.component)
        )
    return CodePublic(
        code=entry.code,
        kind=entry.kind,
        label=entry.label,
        short_label=entry.short_label,
        nature=entry.nature,
        component=component,
        period=entry.period,
        year=year,
        parents=[ref(catalogue, parent.code, parent.kind) for parent in entry.parents],
        status=verdict.status,
        open=verdict.status == "valid",
        reason=verdict.reason,
        reason_fr=verdict.reason_fr,
        member_count=catalogue.member_count(entry.code, year),
    )


def check(catalogue: Catalogue, code: str, *, year: int) -> CodeCheck:
    entry = catalogue.get(code)
    if entry is None:
        return CodeCheck(
            code=code,
            status="unknown",
            reason="This code does not exist in Apogée.",
            reason_fr="Ce code n'existe pas dans Apogée.",
        )
    verdict = catalogue.verdict(entry, year)
    return CodeCheck(
        code=code,
        status=verdict.status,
        kind=entry.kind,
        label=entry.label,
        reason=verdict.reason,
        reason_fr=verdict.reason_fr,
    )


def search(
    index: SearchIndex, query: str, *, kind: Kind | None, year: int, limit: int
) -> list[SearchHit]:
    return [
        SearchHit(
            code=entry.code,
            kind=entry.kind,
            label=entry.label,
            component=entry.component,
            period=entry.period,
        )
        for entry in index.search(query, kind=kind, year=year, limit=limit)
    ]


def groups(catalogue: Catalogue, entry: CodeEntry, *, year: int) -> list[GroupPublic]:
    return [
        GroupPublic(
            code=group.code,
            label=group.label,
            kind="serie" if group.kind == "serie" else "group",
            type=group.nature,
            member_count=catalogue.member_count(group.code, year),
        )
        for group in catalogue.groups(entry.code, year)
    ]
