"""Reads Apogée's offer (years, components, VETs, ELP tree, groups) into a ``Catalogue``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.apogee_api.apogee_tables import (
    annee_uni,
    composante,
    element_pedagogi,
    elp_regroupe_elp,
    etape,
    gpe_obj,
    groupe,
    nature_elp,
    vdi_fractionner_vet,
    version_etape,
    vet_regroupe_lse,
)
from services.apogee_api.catalogue import Catalogue, Closed, CodeEntry, Parent, Window
from services.apogee_api.queries import Filters, count_statements


class NoAcademicYear(RuntimeError):
    """ANNEE_UNI is empty: the database is not an Apogée (or not loaded yet)."""


async def load_catalogue(
    connection: AsyncConnection, *, payment_states: Sequence[str]
) -> Catalogue:
    catalogue = await _years(connection)
    rows = await connection.execute(select(composante.c.cod_cmp, composante.c.lib_cmp))
    catalogue.components = {str(cod): str(lib) for cod, lib in rows}
    await _vets(connection, catalogue)
    await _elps(connection, catalogue)
    await _groups(connection, catalogue)
    for year in catalogue.years:
        filters = Filters(year=year, payment_states=tuple(payment_states))
        catalogue.counts[year] = await _counts(connection, filters)
    return catalogue


async def _years(connection: AsyncConnection) -> Catalogue:
    rows = (
        await connection.execute(
            select(annee_uni.c.cod_anu, annee_uni.c.lib_anu, annee_uni.c.eta_anu_iae)
        )
    ).all()
    if not rows:
        raise NoAcademicYear("ANNEE_UNI holds no year")
    years = {int(cod): lib or f"{cod}/{int(cod) + 1}" for cod, lib, _ in rows}
    # Around the summer two years can be open for IA: the later one is "current" (§4.1).
    open_years = [int(cod) for cod, _, state in rows if state == "O"]
    return Catalogue(years=years, current_year=max(open_years or years))


def _year(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


async def _vets(connection: AsyncConnection, catalogue: Catalogue) -> None:
    windows: dict[tuple[str, int], list[Window]] = defaultdict(list)
    for cod_etp, vrs, start, end in await connection.execute(
        select(
            vdi_fractionner_vet.c.cod_etp,
            vdi_fractionner_vet.c.cod_vrs_vet,
            vdi_fractionner_vet.c.daa_deb_rct_vet,
            vdi_fractionner_vet.c.daa_fin_rct_vet,
        )
    ):
        windows[(cod_etp, vrs)].append((_year(start), _year(end)))
    query = select(
        version_etape.c.cod_etp,
        version_etape.c.cod_vrs_vet,
        func.coalesce(version_etape.c.lib_web_vet, etape.c.lib_etp),
        etape.c.lic_etp,
        version_etape.c.cod_cmp,
    ).join(etape, etape.c.cod_etp == version_etape.c.cod_etp)
    for cod_etp, vrs, label, short, cod_cmp in await connection.execute(query):
        code = f"{cod_etp}-{vrs}"
        catalogue.entries[code] = CodeEntry(
            code=code,
            kind="vet",
            label=label,
            short_label=short,
            component=cod_cmp,
            windows=tuple(windows.get((cod_etp, vrs), ())),
            cod_etp=cod_etp,
            cod_vrs_vet=vrs,
        )


async def _elps(connection: AsyncConnection, catalogue: Catalogue) -> None:
    parents, tops = await _tree(connection)
    query = select(
        element_pedagogi.c.cod_elp,
        element_pedagogi.c.lib_elp,
        element_pedagogi.c.lic_elp,
        element_pedagogi.c.cod_nel,
        element_pedagogi.c.cod_pel,
        element_pedagogi.c.cod_cmp,
        element_pedagogi.c.eta_elp,
        element_pedagogi.c.tem_sus_elp,
        nature_elp.c.tem_fictif,
    ).join(nature_elp, nature_elp.c.cod_nel == element_pedagogi.c.cod_nel)
    for (
        cod_elp,
        label,
        short,
        nature,
        period,
        cod_cmp,
        state,
        suspended,
        fictive,
    ) in await connection.execute(query):
        closed: Closed | None = (
            "closed"
            if state == "F"
            else "suspended"
            if suspended == "O"
            else "technical"
            if fictive == "O"
            else None
        )
        links = [Parent(p, "elp") for p in sorted(parents.get(cod_elp, ()))]
        links += [Parent(vet, "vet") for vet in sorted(tops.get(cod_elp, ()))]
        catalogue.entries[cod_elp] = CodeEntry(
            code=cod_elp,
            kind="elp",
            label=label,
            short_label=short,
            component=cod_cmp,
            period=period,
            nature=nature,
            closed=closed,
            parents=tuple(links),
            cod_elp=cod_elp,
        )
    catalogue.elp_vets = _ancestor_vets(parents, tops)


async def _tree(connection: AsyncConnection) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Live links only: open lists, no closing date; ``tops`` maps an ELP at the top of a
    VET's list to that VET's code."""
    vet_lists: dict[str, set[str]] = defaultdict(set)
    for cod_etp, vrs, cod_lse in await connection.execute(
        select(
            vet_regroupe_lse.c.cod_etp, vet_regroupe_lse.c.cod_vrs_vet, vet_regroupe_lse.c.cod_lse
        ).where(vet_regroupe_lse.c.dat_frm_rel_lse_vet.is_(None))
    ):
        vet_lists[cod_lse].add(f"{cod_etp}-{vrs}")
    link = elp_regroupe_elp.c
    parents: dict[str, set[str]] = defaultdict(set)
    tops: dict[str, set[str]] = defaultdict(set)
    for cod_lse, father, son in await connection.execute(
        select(link.cod_lse, link.cod_elp_pere, link.cod_elp_fils).where(
            link.date_fermeture_lien.is_(None), or_(link.eta_lse.is_(None), link.eta_lse != "F")
        )
    ):
        if father is None:
            tops[son].update(vet_lists.get(cod_lse, ()))
        else:
            parents[son].add(father)
    return parents, tops


def _ancestor_vets(
    parents: dict[str, set[str]], tops: dict[str, set[str]]
) -> dict[str, frozenset[str]]:
    """The VETs above every ELP, walked level by level (no CONNECT BY needed)."""
    memo: dict[str, frozenset[str]] = {}

    def walk(cod_elp: str, seen: frozenset[str]) -> frozenset[str]:
        if cod_elp in memo:
            return memo[cod_elp]
        found = set(tops.get(cod_elp, ()))
        for father in parents.get(cod_elp, ()):
            if father not in seen:  # Apogée trees have no cycles, but a bad link must not hang
                found |= walk(father, seen | {cod_elp})
        memo[cod_elp] = frozenset(found)
        return memo[cod_elp]

    for cod_elp in set(parents) | set(tops):
        walk(cod_elp, frozenset())
    return memo


async def _groups(connection: AsyncConnection, catalogue: Catalogue) -> None:
    query = (
        select(
            groupe.c.cod_gpe,
            groupe.c.cod_ext_gpe,
            groupe.c.lib_gpe,
            groupe.c.cod_tgr,
            groupe.c.daa_deb_val_gpe,
            groupe.c.daa_fin_val_gpe,
            gpe_obj.c.typ_obj_gpo,
            gpe_obj.c.cod_elp,
            gpe_obj.c.cod_etp,
            gpe_obj.c.cod_vrs_vet,
        )
        .join(gpe_obj, gpe_obj.c.cod_gpe == groupe.c.cod_gpe)
        .order_by(groupe.c.cod_gpe)
    )
    for (
        cod_gpe,
        code,
        label,
        tgr,
        start,
        end,
        typ,
        cod_elp,
        cod_etp,
        vrs,
    ) in await connection.execute(query):
        on_elp = typ == "ELP"
        parent = Parent(cod_elp, "elp") if on_elp else Parent(f"{cod_etp}-{vrs}", "vet")
        previous = catalogue.entries.get(code)
        parents = previous.parents if previous and previous.cod_gpe == cod_gpe else ()
        catalogue.entries[code] = CodeEntry(
            code=code,
            kind="group" if on_elp else "serie",
            label=label,
            nature=tgr,
            windows=((_year(start), _year(end)),),
            parents=(*parents, parent),
            cod_gpe=cod_gpe,
        )
        catalogue.groups_of[parent.code].append(code)


async def _counts(connection: AsyncConnection, filters: Filters) -> dict[str, int]:
    vets, elps, groups = count_statements(filters)
    counts = {f"{etp}-{vrs}": n for etp, vrs, n in await connection.execute(vets)}
    counts.update({str(cod): n for cod, n in await connection.execute(elps)})
    counts.update({str(cod): n for cod, n in await connection.execute(groups)})
    return counts
