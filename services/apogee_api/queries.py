"""Rosters read live from Apogée with the filters every public integration applies.

- a VET's students: INS_ADM_ETP in force (``ETA_IAE='E'``) with an accepted payment state;
- an ELP's students: contracts followed this year (``TEM_PRC_ICE='N'``) whose VET enrolment is
  in force (same COD_IND, COD_ANU, COD_ETP, COD_VRS_VET);
- a group's students: IND_AFFECTE_GPE of the year, for students with an IA in force.

A roster is read in two steps: who is in each code (``fetch_memberships``: narrow
``(key, COD_ETU)`` rows, enough for the ETag), then the names of the students that must be
shown (``fetch_people``). A student is in a dozen codes, so reading names once per student
rather than once per membership row divides the rows that carry text by ten, and a bulk read
whose ETags all match reads no name at all. Each function answers many codes of one kind in one
query, so a bulk read costs a few queries per chunk of codes and never one per code. The
statements are portable Core (Oracle, PostgreSQL, SQLite): row-value IN and correlated EXISTS
are supported by all three, and no IN list exceeds Oracle's 1,000 items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.apogee_api.apogee_tables import (
    groupe,
    ind_affecte_gpe,
    ind_contrat_elp,
    individu,
    ins_adm_etp,
)
from services.apogee_api.catalogue import CodeEntry

ia = ins_adm_etp
contract = ind_contrat_elp
assignment = ind_affecte_gpe
_Key = TypeVar("_Key")
IN_LIMIT = 1000  # Oracle refuses longer IN lists (ORA-01795)


@dataclass(frozen=True, slots=True)
class Member:
    cod_etu: str
    last_name: str
    first_name: str
    ine: str | None


@dataclass(frozen=True)
class Filters:
    """The year and the payment states (ETA_PMT_IAE) accepted; no states = no payment filter."""

    year: int
    payment_states: tuple[str, ...] = ()


PERSON = (
    individu.c.cod_etu,
    individu.c.lib_nom_usu_ind,
    individu.c.lib_nom_pat_ind,
    individu.c.lib_pr1_ind,
    individu.c.cod_nne_ind,
    individu.c.cod_cle_nne_ind,
)


def live_ia(filters: Filters) -> list[ColumnElement[bool]]:
    conditions = [ia.c.cod_anu == str(filters.year), ia.c.eta_iae == "E"]
    if filters.payment_states:
        conditions.append(ia.c.eta_pmt_iae.in_(filters.payment_states))
    return conditions


def followed_contracts(filters: Filters) -> list[ColumnElement[bool]]:
    return [
        contract.c.cod_anu == str(filters.year),
        contract.c.tem_prc_ice == "N",
        ia.c.cod_ind == contract.c.cod_ind,
        ia.c.cod_anu == contract.c.cod_anu,
        ia.c.cod_etp == contract.c.cod_etp,
        ia.c.cod_vrs_vet == contract.c.cod_vrs_vet,
        *live_ia(filters),
    ]


def has_live_ia(filters: Filters) -> ColumnElement[bool]:
    return exists().where(ia.c.cod_ind == assignment.c.cod_ind, *live_ia(filters))


def has_followed_ia(filters: Filters) -> ColumnElement[bool]:
    """The contract's own VET enrolment is in force (an EXISTS, so no row is multiplied)."""
    return exists().where(
        ia.c.cod_ind == contract.c.cod_ind,
        ia.c.cod_anu == contract.c.cod_anu,
        ia.c.cod_etp == contract.c.cod_etp,
        ia.c.cod_vrs_vet == contract.c.cod_vrs_vet,
        *live_ia(filters),
    )


# The membership statements answer (key..., COD_ETU) rows without DISTINCT: the rare duplicate
# (two IA occurrences, one ELP followed through two VETs) is dropped in Python, which is much
# cheaper than making the server sort every row of a bulk read.


def vet_members(keys: Sequence[tuple[str, int]], filters: Filters) -> Select[Any]:
    return (
        select(ia.c.cod_etp, ia.c.cod_vrs_vet, individu.c.cod_etu)
        .join(individu, individu.c.cod_ind == ia.c.cod_ind)
        .where(
            tuple_(ia.c.cod_etp, ia.c.cod_vrs_vet).in_(keys),
            *live_ia(filters),
            individu.c.cod_etu.is_not(None),
        )
    )


def elp_members(cod_elps: Sequence[str], filters: Filters) -> Select[Any]:
    return (
        select(contract.c.cod_elp, individu.c.cod_etu)
        .select_from(contract)
        .join(individu, individu.c.cod_ind == contract.c.cod_ind)
        .where(
            contract.c.cod_anu == str(filters.year),
            contract.c.cod_elp.in_(cod_elps),
            contract.c.tem_prc_ice == "N",
            has_followed_ia(filters),
            individu.c.cod_etu.is_not(None),
        )
    )


def group_members(cod_gpes: Sequence[int], filters: Filters) -> Select[Any]:
    return (
        select(assignment.c.cod_gpe, individu.c.cod_etu)
        .join(individu, individu.c.cod_ind == assignment.c.cod_ind)
        .where(
            assignment.c.cod_anu == str(filters.year),
            assignment.c.cod_gpe.in_(cod_gpes),
            has_live_ia(filters),
            individu.c.cod_etu.is_not(None),
        )
    )


def people(cod_etus: Sequence[int]) -> Select[Any]:
    return select(*PERSON).where(individu.c.cod_etu.in_(cod_etus))


def _member(row: Sequence[object]) -> Member:
    cod_etu, usual, birth, first, nne, key = row
    ine = f"{nne}{key or ''}" if nne else None
    return Member(
        cod_etu=str(cod_etu), last_name=str(usual or birth), first_name=str(first), ine=ine
    )


async def fetch_memberships(
    connection: AsyncConnection, entries: Iterable[CodeEntry], filters: Filters
) -> dict[str, list[str]]:
    """The COD_ETUs of every entry, deduplicated and sorted; one query per kind of code and
    per ``IN_LIMIT`` keys."""
    codes_of: dict[object, list[str]] = defaultdict(list)
    for entry in entries:
        if (key := _key(entry)) is not None:
            codes_of[key].append(entry.code)
    found: dict[object, set[int]] = defaultdict(set)
    vets = [key for key in codes_of if isinstance(key, tuple)]
    elps = [key for key in codes_of if isinstance(key, str)]
    gpes = [key for key in codes_of if isinstance(key, int)]
    for batch in _batches(vets):
        for etp, vrs, cod_etu in await connection.execute(vet_members(batch, filters)):
            found[(etp, vrs)].add(cod_etu)
    statements = [
        *(elp_members(batch, filters) for batch in _batches(elps)),
        *(group_members(batch, filters) for batch in _batches(gpes)),
    ]
    for statement in statements:
        # Iterating a result is several times cheaper than Result.all() on 100k rows.
        for key, cod_etu in await connection.execute(statement):
            found[key].add(cod_etu)
    rosters: dict[str, list[str]] = {entry.code: [] for entry in entries}
    for key, codes in codes_of.items():
        members = sorted(map(str, found.get(key, ())))
        for code in codes:
            rosters[code] = members
    return rosters


def _batches(keys: Sequence[_Key]) -> list[Sequence[_Key]]:
    return [keys[start : start + IN_LIMIT] for start in range(0, len(keys), IN_LIMIT)]


def _key(entry: CodeEntry) -> object:
    """How the membership statements name a code: (COD_ETP, COD_VRS_VET), COD_ELP or COD_GPE."""
    if entry.kind == "vet" and entry.cod_etp is not None and entry.cod_vrs_vet is not None:
        return (entry.cod_etp, entry.cod_vrs_vet)
    if entry.kind == "elp":
        return entry.cod_elp
    return entry.cod_gpe


async def fetch_people(connection: AsyncConnection, cod_etus: Collection[str]) -> dict[str, Member]:
    """Names and INE of the given students, ``IN_LIMIT`` per query."""
    wanted = [int(cod_etu) for cod_etu in cod_etus]
    found: dict[str, Member] = {}
    for start in range(0, len(wanted), IN_LIMIT):
        for row in await connection.execute(people(wanted[start : start + IN_LIMIT])):
            member = _member(row)
            found[member.cod_etu] = member
    return found


async def fetch_rosters(
    connection: AsyncConnection, entries: Sequence[CodeEntry], filters: Filters
) -> dict[str, list[Member]]:
    """Members of every entry, sorted by COD_ETU."""
    memberships = await fetch_memberships(connection, entries, filters)
    known = await fetch_people(connection, {c for ids in memberships.values() for c in ids})
    return {code: [known[c] for c in ids if c in known] for code, ids in memberships.items()}


def count_statements(filters: Filters) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """Members per code for one year (VETs, ELPs, groups by COD_EXT_GPE), for the catalogue."""
    return (
        select(ia.c.cod_etp, ia.c.cod_vrs_vet, func.count(ia.c.cod_ind.distinct()))
        .where(*live_ia(filters))
        .group_by(ia.c.cod_etp, ia.c.cod_vrs_vet),
        select(contract.c.cod_elp, func.count(contract.c.cod_ind.distinct()))
        .select_from(contract)
        .join(ia, ia.c.cod_ind == contract.c.cod_ind)
        .where(*followed_contracts(filters))
        .group_by(contract.c.cod_elp),
        select(groupe.c.cod_ext_gpe, func.count(assignment.c.cod_ind))
        .join(groupe, groupe.c.cod_gpe == assignment.c.cod_gpe)
        .where(assignment.c.cod_anu == str(filters.year), has_live_ia(filters))
        .group_by(groupe.c.cod_ext_gpe),
    )
