"""Live rosters: one code, many codes streamed as NDJSON, and one student's codes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import select

from fusion.db import Database
from fusion.errors import NotFound
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
from services.apogee_api.schema import groupe, individu
from services.apogee_api.schemas import MemberPublic, MembersPublic, StudentPublic


class StudentUnknown(NotFound):
    code = "apogee_student_unknown"


async def members(database: Database, entry: CodeEntry, *, year: int,
                  payment_states: Sequence[str]) -> MembersPublic:
    async with database.engine.connect() as connection:
        rosters = await fetch_rosters(connection, [entry], Filters(year, tuple(payment_states)))
    roster = rosters[entry.code]
    return MembersPublic(code=entry.code, kind=entry.kind, year=year,
                         etag=roster_etag(m.cod_etu for m in roster),
                         members=[MemberPublic(**_member(m)) for m in roster])


def _member(member: Member) -> dict[str, Any]:
    return {"cod_etu": member.cod_etu, "last_name": member.last_name,
            "first_name": member.first_name, "ine": member.ine}


async def bulk_lines(database: Database, catalogue: Catalogue, codes: Sequence[str], *,
                     year: int, if_none_match: dict[str, str], with_groups: bool,
                     payment_states: Sequence[str], chunk_size: int) -> AsyncIterator[bytes]:
    """One NDJSON line per requested code, in request order, a few queries per chunk."""
    for start in range(0, len(codes), chunk_size):
        chunk = codes[start:start + chunk_size]
        known = {code: entry for code in chunk if (entry := catalogue.get(code)) is not None}
        group_entries = _groups_of(catalogue, known.values(), year=year) if with_groups else {}
        wanted = {entry.code: entry for entry in known.values()}
        wanted.update({g.code: g for gs in group_entries.values() for g in gs})
        async with database.engine.connect() as connection:
            rosters = await fetch_rosters(connection, wanted.values(),
                                          Filters(year, tuple(payment_states)))
        lines = [_line(catalogue, code, known.get(code), rosters, group_entries, year=year,
                       if_none_match=if_none_match, with_groups=with_groups) for code in chunk]
        yield "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


def _groups_of(catalogue: Catalogue, entries: Any, *, year: int) -> dict[str, list[CodeEntry]]:
    return {entry.code: catalogue.groups(entry.code, year) for entry in entries
            if entry.kind in ("vet", "elp")}


def _line(catalogue: Catalogue, code: str, entry: CodeEntry | None,
          rosters: dict[str, list[Member]], group_entries: dict[str, list[CodeEntry]], *,
          year: int, if_none_match: dict[str, str], with_groups: bool) -> dict[str, Any]:
    if entry is None:
        return {"code": code, "status": "unknown"}
    roster = rosters[entry.code]
    groups = [(group, [m.cod_etu for m in rosters[group.code]])
              for group in group_entries.get(entry.code, [])]
    etag = roster_etag((m.cod_etu for m in roster),
                       [(g.code, ids) for g, ids in groups] if with_groups else None)
    status = "closed" if catalogue.verdict(entry, year).status == "closed" else "ok"
    line: dict[str, Any] = {"code": code, "status": status, "kind": entry.kind, "etag": etag}
    if if_none_match.get(code, "").strip('"') == etag:
        line["status"] = "not_modified"
        return line
    line["members"] = [_member(m) for m in roster]
    if with_groups:
        line["groups"] = [{"code": g.code, "label": g.label, "kind": g.kind, "members": ids}
                          for g, ids in groups]
    return line


async def student(database: Database, catalogue: Catalogue, cod_etu: int, *, year: int,
                  payment_states: Sequence[str]) -> StudentPublic:
    filters = Filters(year, tuple(payment_states))
    async with database.engine.connect() as connection:
        person = (await connection.execute(select(
            individu.c.cod_ind, individu.c.lib_nom_usu_ind, individu.c.lib_nom_pat_ind,
            individu.c.lib_pr1_ind, individu.c.cod_nne_ind, individu.c.cod_cle_nne_ind)
            .where(individu.c.cod_etu == cod_etu))).first()
        if person is None:
            raise StudentUnknown(f"No student {cod_etu} in Apogée.",
                                 message_fr=f"Aucun étudiant {cod_etu} dans Apogée.")
        cod_ind = person[0]
        vets = await connection.execute(
            select(ia.c.cod_etp, ia.c.cod_vrs_vet).distinct()
            .where(ia.c.cod_ind == cod_ind, *live_ia(filters)))
        elps = await connection.execute(
            select(contract.c.cod_elp).distinct().select_from(contract)
            .join(ia, ia.c.cod_ind == contract.c.cod_ind)
            .where(contract.c.cod_ind == cod_ind, *followed_contracts(filters)))
        groups = await connection.execute(
            select(groupe.c.cod_ext_gpe).join(groupe, groupe.c.cod_gpe == assignment.c.cod_gpe)
            .where(assignment.c.cod_ind == cod_ind, assignment.c.cod_anu == str(year)))
        vet_codes = sorted(f"{etp}-{vrs}" for etp, vrs in vets)
        elp_codes = sorted(str(code) for (code,) in elps)
        group_codes = sorted(str(code) for (code,) in groups)
    has_ia = bool(vet_codes)
    valid_groups = [ref(catalogue, code, entry.kind) for code in group_codes
                    if (entry := catalogue.entries.get(code)) and entry.in_window(year) and has_ia]
    return StudentPublic(
        cod_etu=str(cod_etu), last_name=str(person[1] or person[2]), first_name=str(person[3]),
        ine=f"{person[4]}{person[5] or ''}" if person[4] else None, year=year,
        vets=[ref(catalogue, code, "vet") for code in vet_codes],
        elps=[ref(catalogue, code, "elp") for code in elp_codes], groups=valid_groups)
