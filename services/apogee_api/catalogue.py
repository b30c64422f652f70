"""The codes a teacher can pick (VETs, ELPs, groups, séries), held in the service's memory.

Apogée's offer changes a few times a year and the replica is read-only, so the service reads
it whole at startup (a few queries, under a second at university scale) and refreshes it on a
timer: code lookups, validation and search then cost no database round trip. Rosters are never
cached: members are always read live (``queries.py``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["vet", "elp", "group", "serie"]
Status = Literal["valid", "closed", "not_offered"]
Closed = Literal["closed", "suspended", "technical"]
Window = tuple[int | None, int | None]  # inclusive years, None = unbounded


@dataclass(frozen=True)
class Parent:
    code: str
    kind: Kind


@dataclass(frozen=True)
class CodeEntry:
    code: str
    kind: Kind
    label: str
    short_label: str | None = None
    component: str | None = None
    period: str | None = None
    nature: str | None = None  # COD_NEL of an ELP, COD_TGR of a group
    closed: Closed | None = None
    windows: tuple[Window, ...] = ()  # VET recruitment years, group validity years
    parents: tuple[Parent, ...] = ()
    # Apogée keys, for the roster queries.
    cod_etp: str | None = None
    cod_vrs_vet: int | None = None
    cod_elp: str | None = None
    cod_gpe: int | None = None

    def in_window(self, year: int) -> bool:
        return any(
            (start is None or start <= year) and (end is None or year <= end)
            for start, end in self.windows
        )


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str | None = None
    reason_fr: str | None = None


@dataclass
class Catalogue:
    years: dict[int, str]  # COD_ANU -> label
    current_year: int
    entries: dict[str, CodeEntry] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=dict)
    groups_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    elp_vets: dict[str, frozenset[str]] = field(default_factory=dict)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)

    def get(self, code: str) -> CodeEntry | None:
        return self.entries.get(normalise_code(code))

    def member_count(self, code: str, year: int) -> int:
        return self.counts.get(year, {}).get(code, 0)

    def offered(self, entry: CodeEntry, year: int) -> bool:
        if entry.kind == "elp":
            vets = (self.entries.get(vet) for vet in self.elp_vets.get(entry.code, ()))
            return any(vet is not None and vet.in_window(year) for vet in vets)
        return entry.in_window(year)

    def verdict(self, entry: CodeEntry, year: int) -> Verdict:
        if entry.closed is not None:
            return _CLOSED[entry.closed]
        if not self.offered(entry, year):
            return _not_offered(entry, year, self.years.get(year, str(year)))
        return Verdict("valid")

    def groups(self, code: str, year: int) -> list[CodeEntry]:
        found = (self.entries.get(group) for group in self.groups_of.get(code, ()))
        return [group for group in found if group is not None and group.in_window(year)]


def normalise_code(code: str) -> str:
    return code.strip().upper()


_CLOSED: dict[str, Verdict] = {
    "closed": Verdict(
        "closed",
        "This teaching element is closed in Apogée.",
        "Cet élément pédagogique est fermé dans Apogée.",
    ),
    "suspended": Verdict(
        "closed",
        "This teaching element is suspended in Apogée.",
        "Cet élément pédagogique est suspendu dans Apogée.",
    ),
    "technical": Verdict(
        "closed",
        "This is a technical element (e.g. jury points), not a course.",
        "Il s'agit d'un élément technique (points jury…), pas d'un enseignement.",
    ),
}


def _not_offered(entry: CodeEntry, year: int, year_label: str) -> Verdict:
    if entry.kind == "vet":
        return Verdict(
            "not_offered",
            f"This VET takes no students in {year_label}.",
            f"Cette étape (VET) ne recrute pas en {year_label}.",
        )
    if entry.kind == "elp":
        return Verdict(
            "not_offered",
            f"This element belongs to no VET open in {year_label}.",
            f"Cet élément n'est rattaché à aucune étape ouverte en {year_label}.",
        )
    del year
    return Verdict(
        "not_offered",
        f"This group is not valid in {year_label}.",
        f"Ce groupe n'est pas valide en {year_label}.",
    )
