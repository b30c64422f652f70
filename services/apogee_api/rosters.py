"""Live rosters: one code and one student's codes (many codes at once: ``bulk.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from fusion.db import Database
from fusion.errors import NotFound
from services.apogee_api.apogee_tables import groupe, individu
from services.apogee_api.catalogue import Catalogue, CodeEntry
from services.apogee_api.codes import ref
from services.apogee_api.etags import roster_etag
from services.apogee_api.queries import (
    Filters,
    Member,
    assignment,
    contract,
    fetch_rosters,
    followed_contracts,
    ia,
    live_ia,
)
from services.apogee_api.schemas import MemberPublic, MembersPublic, StudentPublic


class StudentUnknown(NotFound):
    code = "apogee_student_unknown"


async def members(
    database: Database, entry: CodeEntry, *, year: int, payment_states: Sequence[str]
) -> MembersPublic:
    async with database.engine.connect() as connection:
        rosters = await fetch_rosters(connection, [entry], Filters(year, tuple(payment_states)))
    roster = rosters[entry.code]
    return MembersPublic(
        code=entry.code,
        kind=entry.kind,
        year=year,
        etag=roster_etag(m.cod_etu for m in roster),
        members=[MemberPublic(**_member(m)) for m in roster],
    )


def _member(member: Member) -> dict[str, Any]:
    return {
        "cod_etu": member.cod_etu,
        "last_name": member.last_name,
        "first_name": member.first_name,
        "ine": member.ine,
    }


async def student(
    database: Database,
    catalogue: Catalogue,
    cod_etu: int,
    *,
    year: int,
    payment_states: Sequence[str],
) -> StudentPublic:
    filters = Filters(year, tuple(payment_states))
    async with database.engine.connect() as connection:
        person = (
            await connection.execute(
                select(
                    individu.c.cod_ind,
                    individu.c.lib_nom_usu_ind,
                    individu.c.lib_nom_pat_ind,
                    individu.c.lib_pr1_ind,
                    individu.c.cod_nne_ind,
                    individu.c.cod_cle_nne_ind,
                ).where(individu.c.cod_etu == cod_etu)
            )
        ).first()
        if person is None:
            raise StudentUnknown(
                f"No student {cod_etu} in Apogée.",
                message_fr=f"Aucun étudiant {cod_etu} dans Apogée.",
            )
        cod_ind = person[0]
        vets = await connection.execute(
            select(ia.c.cod_etp, ia.c.cod_vrs_vet)
            .distinct()
            .where(ia.c.cod_ind == cod_ind, *live_ia(filters))
        )
        elps = await connection.execute(
            select(contract.c.cod_elp)
            .distinct()
            .select_from(contract)
            .join(ia, ia.c.cod_ind == contract.c.cod_ind)
            .where(contract.c.cod_ind == cod_ind, *followed_contracts(filters))
        )
        groups = await connection.execute(
            select(groupe.c.cod_ext_gpe)
            .join(groupe, groupe.c.cod_gpe == assignment.c.cod_gpe)
            .where(assignment.c.cod_ind == cod_ind, assignment.c.cod_anu == str(year))
        )
        vet_codes = sorted(f"{etp}-{vrs}" for etp, vrs in vets)
        elp_codes = sorted(str(code) for (code,) in elps)
        group_codes = sorted(str(code) for (code,) in groups)
    has_ia = bool(vet_codes)
    valid_groups = [
        ref(catalogue, code, entry.kind)
        for code in group_codes
        if (entry := catalogue.entries.get(code)) and entry.in_window(year) and has_ia
    ]
    return StudentPublic(
        cod_etu=str(cod_etu),
        last_name=str(person[1] or person[2]),
        first_name=str(person[3]),
        ine=f"{person[4]}{person[5] or ''}" if person[4] else None,
        year=year,
        vets=[ref(catalogue, code, "vet") for code in vet_codes],
        elps=[ref(catalogue, code, "elp") for code in elp_codes],
        groups=valid_groups,
    )
