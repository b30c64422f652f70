"""Rosters read live from Apogée with the filters every public integration applies.

- a VET's students: INS_ADM_ETP in force (``ETA_IAE='E'``) with an accepted payment state;
- an ELP's students: contracts followed this year (``TEM_PRC_ICE='N'``) whose VET enrolment is
  in force (join on COD_IND, COD_ANU, COD_ETP, COD_VRS_VET);
- a group's students: IND_AFFECTE_GPE of the year, for students with an IA in force.

Each function answers many codes of one kind in one query, so a bulk read costs a few queries
per chunk of codes and never one per code. The statements are portable Core (Oracle, PostgreSQL,
SQLite): row-value IN is supported by all three.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.apogee_api.catalogue import CodeEntry
from services.apogee_api.schema import (
    groupe,
    ind_affecte_gpe,
    ind_contrat_elp,
    individu,
    ins_adm_etp,
)

ia = ins_adm_etp
contract = ind_contrat_elp
assignment = ind_affecte_gpe


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


PERSON = (individu.c.cod_etu, individu.c.lib_nom_usu_ind, individu.c.lib_nom_pat_ind,
          individu.c.lib_pr1_ind, individu.c.cod_nne_ind, individu.c.cod_cle_nne_ind)


def live_ia(filters: Filters) -> list[ColumnElement[bool]]:
    conditions = [ia.c.cod_anu == str(filters.year), ia.c.eta_iae == "E"]
    if filters.payment_states:
        conditions.append(ia.c.eta_pmt_iae.in_(filters.payment_states))
    return conditions


def followed_contracts(filters: Filters) -> list[ColumnElement[bool]]:
    return [contract.c.cod_anu == str(filters.year), contract.c.tem_prc_ice == "N",
            ia.c.cod_ind == contract.c.cod_ind, ia.c.cod_anu == contract.c.cod_anu,
            ia.c.cod_etp == contract.c.cod_etp, ia.c.cod_vrs_vet == contract.c.cod_vrs_vet,
            *live_ia(filters)]


def has_live_ia(filters: Filters) -> ColumnElement[bool]:
    return exists().where(ia.c.cod_ind == assignment.c.cod_ind, *live_ia(filters))


def vet_members(keys: Sequence[tuple[str, int]], filters: Filters) -> Select[Any]:
    return (select(ia.c.cod_etp, ia.c.cod_vrs_vet, *PERSON).distinct()
            .join(individu, individu.c.cod_ind == ia.c.cod_ind)
            .where(tuple_(ia.c.cod_etp, ia.c.cod_vrs_vet).in_(keys),
                   *live_ia(filters)))


def elp_members(cod_elps: Sequence[str], filters: Filters) -> Select[Any]:
    # DISTINCT: a student following the same ELP through two VETs counts once.
    return (select(contract.c.cod_elp, *PERSON).distinct()
            .select_from(contract)
            .join(ia, ia.c.cod_ind == contract.c.cod_ind)
            .join(individu, individu.c.cod_ind == contract.c.cod_ind)
            .where(contract.c.cod_elp.in_(cod_elps),
                   *followed_contracts(filters)))


def group_members(cod_gpes: Sequence[int], filters: Filters) -> Select[Any]:
    return (select(assignment.c.cod_gpe, *PERSON)
            .join(individu, individu.c.cod_ind == assignment.c.cod_ind)
            .where(assignment.c.cod_anu == str(filters.year),
                   assignment.c.cod_gpe.in_(cod_gpes), has_live_ia(filters)))


def _member(row: Sequence[object]) -> Member:
    cod_etu, usual, birth, first, nne, key = row
    ine = f"{nne}{key or ''}" if nne else None
    return Member(cod_etu=str(cod_etu), last_name=str(usual or birth), first_name=str(first),
                  ine=ine)


async def fetch_rosters(connection: AsyncConnection, entries: Iterable[CodeEntry],
                        filters: Filters) -> dict[str, list[Member]]:
    """Members of every entry, sorted by COD_ETU; at most one query per kind of code."""
    by_key: dict[tuple[str, object], list[str]] = defaultdict(list)
    vets: list[tuple[str, int]] = []
    elps: list[str] = []
    gpes: list[int] = []
    rosters: dict[str, list[Member]] = {}
    for entry in entries:
        rosters[entry.code] = []
        if entry.kind == "vet" and entry.cod_etp is not None and entry.cod_vrs_vet is not None:
            key: tuple[str, object] = ("vet", (entry.cod_etp, entry.cod_vrs_vet))
            vets.append((entry.cod_etp, entry.cod_vrs_vet))
        elif entry.kind == "elp" and entry.cod_elp is not None:
            key = ("elp", entry.cod_elp)
            elps.append(entry.cod_elp)
        elif entry.cod_gpe is not None:
            key = ("gpe", entry.cod_gpe)
            gpes.append(entry.cod_gpe)
        else:
            continue
        by_key[key].append(entry.code)
    if vets:
        for row in await connection.execute(vet_members(vets, filters)):
            _collect(rosters, by_key[("vet", (row[0], row[1]))], row[2:])
    if elps:
        for row in await connection.execute(elp_members(elps, filters)):
            _collect(rosters, by_key[("elp", row[0])], row[1:])
    if gpes:
        for row in await connection.execute(group_members(gpes, filters)):
            _collect(rosters, by_key[("gpe", row[0])], row[1:])
    for members in rosters.values():
        members.sort(key=lambda member: member.cod_etu)
    return rosters


def _collect(rosters: dict[str, list[Member]], codes: list[str], row: Sequence[object]) -> None:
    member = _member(row)
    for code in codes:
        rosters[code].append(member)


def count_statements(filters: Filters) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """Members per code for one year (VETs, ELPs, groups by COD_EXT_GPE), for the catalogue."""
    return (
        select(ia.c.cod_etp, ia.c.cod_vrs_vet, func.count(ia.c.cod_ind.distinct()))
        .where(*live_ia(filters)).group_by(ia.c.cod_etp, ia.c.cod_vrs_vet),
        select(contract.c.cod_elp, func.count(contract.c.cod_ind.distinct()))
        .select_from(contract).join(ia, ia.c.cod_ind == contract.c.cod_ind)
        .where(*followed_contracts(filters)).group_by(contract.c.cod_elp),
        select(groupe.c.cod_ext_gpe, func.count(assignment.c.cod_ind))
        .join(groupe, groupe.c.cod_gpe == assignment.c.cod_gpe)
        .where(assignment.c.cod_anu == str(filters.year), has_live_ia(filters))
        .group_by(groupe.c.cod_ext_gpe),
    )
