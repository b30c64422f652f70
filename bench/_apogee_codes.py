"""Apogée codes ranked by their live membership, read straight from a generated database."""

from __future__ import annotations

import asyncpg

from fusion.testing.postgres import asyncpg_dsn

_LIVE_ELP_SIZES = """
    SELECT c.cod_elp AS code, count(DISTINCT c.cod_ind) AS n
    FROM ind_contrat_elp c
    JOIN ins_adm_etp i USING (cod_ind, cod_anu, cod_etp, cod_vrs_vet)
    JOIN element_pedagogi e ON e.cod_elp = c.cod_elp
    JOIN nature_elp n ON n.cod_nel = e.cod_nel
    WHERE c.cod_anu = (SELECT max(cod_anu) FROM annee_uni WHERE eta_anu_iae = 'O')
      AND c.tem_prc_ice = 'N' AND i.eta_iae = 'E' AND e.eta_elp = 'O'
      AND e.tem_sus_elp = 'N' AND n.tem_fictif = 'N'
    GROUP BY c.cod_elp"""

_LIVE_VET_SIZES = """
    SELECT cod_etp || '-' || cod_vrs_vet AS code, count(DISTINCT cod_ind) AS n FROM ins_adm_etp
    WHERE cod_anu = (SELECT max(cod_anu) FROM annee_uni WHERE eta_anu_iae = 'O')
      AND eta_iae = 'E' GROUP BY cod_etp, cod_vrs_vet"""


async def codes_by_size(dsn: str, *, with_vets: bool) -> list[str]:
    """Live ELP codes (and VET codes) of the current year, busiest first."""
    query = (
        f"({_LIVE_ELP_SIZES} UNION ALL {_LIVE_VET_SIZES})" if with_vets else f"({_LIVE_ELP_SIZES})"
    )
    connection = await asyncpg.connect(asyncpg_dsn(dsn))
    try:
        rows = await connection.fetch(f"SELECT code FROM {query} AS t ORDER BY n DESC, code")
    finally:
        await connection.close()
    return [row["code"] for row in rows]
