"""A hand-built Apogée small enough to reason about, holding every edge case once.

Students (COD_ETU): 1 Léa (IA in force, paid), 2 Hugo (in force, awaiting payment),
3 Zoé (IA cancelled), 4 Noé (in force; UEMATH1 carried over, TEM_PRC_ICE='O'),
5 Inès (only last year, in a VET that no longer recruits).
"""

from __future__ import annotations

from sim.apogee.dataset import Dataset

YEAR = 2026
VET = "LMATH-1"


def _ia(
    data: Dataset, cod_ind: int, etp: str, *, year: int = YEAR, state: str = "E", payment: str = "P"
) -> None:
    data.add(
        "ins_adm_etp",
        cod_anu=str(year),
        cod_ind=cod_ind,
        cod_etp=etp,
        cod_vrs_vet=1,
        num_occ_iae=1,
        eta_iae=state,
        eta_pmt_iae=payment,
        tem_iae_prm="O",
    )


def _contract(
    data: Dataset,
    cod_ind: int,
    elp: str,
    *,
    etp: str = "LMATH",
    year: int = YEAR,
    carried: bool = False,
) -> None:
    data.add(
        "ind_contrat_elp",
        cod_anu=str(year),
        cod_ind=cod_ind,
        cod_etp=etp,
        cod_vrs_vet=1,
        cod_elp=elp,
        cod_lse="LST1",
        tem_prc_ice="O" if carried else "N",
    )


def _elp(
    data: Dataset,
    cod_elp: str,
    label: str,
    *,
    nature: str = "UE",
    state: str = "O",
    suspended: str = "N",
    link: bool = True,
) -> None:
    data.add(
        "element_pedagogi",
        cod_elp=cod_elp,
        lib_elp=label,
        lic_elp=label[:25],
        cod_nel=nature,
        cod_pel="S1",
        cod_cmp="C01",
        eta_elp=state,
        tem_sus_elp=suspended,
    )
    if link:
        data.add(
            "elp_regroupe_elp",
            cod_lse="LST1",
            cod_elp_pere=None,
            cod_elp_fils=cod_elp,
            cod_typ_lse="O",
            eta_lse="O",
            date_fermeture_lien=None,
        )


def _group(
    data: Dataset,
    cod_gpe: int,
    code: str,
    label: str,
    *,
    start: str,
    end: str | None,
    elp: str | None = None,
    members: dict[int, tuple[int, ...]],
) -> None:
    data.add(
        "groupe",
        cod_gpe=cod_gpe,
        lib_gpe=label,
        cod_ext_gpe=code,
        cod_tgr="TD" if elp else "SER",
        daa_deb_val_gpe=start,
        daa_fin_val_gpe=end,
    )
    data.add(
        "gpe_obj",
        cod_gpo=cod_gpe,
        cod_gpe=cod_gpe,
        typ_obj_gpo="ELP" if elp else "VET",
        cod_elp=elp,
        cod_etp=None if elp else "LMATH",
        cod_vrs_vet=None if elp else 1,
    )
    for year, students in members.items():
        for cod_ind in students:
            data.add("ind_affecte_gpe", cod_anu=str(year), cod_gpe=cod_gpe, cod_ind=cod_ind)


def tiny_apogee() -> Dataset:
    data = Dataset()
    for year, state in ((YEAR - 1, "N"), (YEAR, "O")):
        data.add(
            "annee_uni",
            cod_anu=str(year),
            lib_anu=f"{year}/{year + 1}",
            eta_anu_iae=state,
            eta_anu_res="N",
        )
    data.add("composante", cod_cmp="C01", lib_cmp="UFR Mathématiques et interactions")
    for etp, label, last in (
        ("LMATH", "Licence Mathématiques appliquées", "2099"),
        ("OLDVET", "Licence Œnologie (ancienne maquette)", str(YEAR - 1)),
    ):
        data.add("etape", cod_etp=etp, lib_etp=label, lic_etp=label[:25])
        data.add("version_etape", cod_etp=etp, cod_vrs_vet=1, lib_web_vet=label, cod_cmp="C01")
        data.add(
            "vdi_fractionner_vet",
            cod_dip="DIP" + etp[:4],
            cod_vrs_vdi=1,
            cod_etp=etp,
            cod_vrs_vet=1,
            daa_deb_rct_vet="2015",
            daa_fin_rct_vet=last,
        )
    data.add("vet_regroupe_lse", cod_etp="LMATH", cod_vrs_vet=1, cod_lse="LST1")
    for nature, label, fictive in (("UE", "Unité d'enseignement", "N"), ("TECH", "Jury", "O")):
        data.add("nature_elp", cod_nel=nature, lib_nel=label, tem_fictif=fictive)
    _elp(data, "UEMATH1", "Analyse réelle")
    _elp(data, "UEOPEN2", "Probabilités et statistique")
    _elp(data, "UECLOSE", "Topologie générale", state="F")
    _elp(data, "UESUSP", "Géométrie différentielle", suspended="O")
    _elp(data, "JURY", "Points jury", nature="TECH")
    _elp(data, "UEORPH", "Analyse numérique orpheline", link=False)
    for cod_ind, (first, last) in enumerate(
        (
            ("Léa", "DUPONT"),
            ("Hugo", "MARTIN"),
            ("Zoé", "BERNARD"),
            ("Noé", "PETIT"),
            ("Inès", "MOREAU"),
        ),
        start=1,
    ):
        data.add(
            "individu",
            cod_ind=cod_ind,
            cod_etu=21_900_000 + cod_ind,
            cod_nne_ind="0123456789" if cod_ind == 1 else None,
            cod_cle_nne_ind="K" if cod_ind == 1 else None,
            lib_nom_pat_ind=last,
            lib_nom_usu_ind=None,
            lib_pr1_ind=first,
        )
    _ia(data, 1, "LMATH")
    _ia(data, 2, "LMATH", payment="A")
    _ia(data, 3, "LMATH", state="A")
    _ia(data, 4, "LMATH")
    _ia(data, 5, "OLDVET", year=YEAR - 1)
    for cod_ind in (1, 2, 3):
        _contract(data, cod_ind, "UEMATH1")
    _contract(data, 4, "UEMATH1", carried=True)
    _contract(data, 4, "UEOPEN2")
    _contract(data, 5, "UEMATH1", etp="OLDVET", year=YEAR - 1)
    _group(
        data,
        1,
        "UEMATH1TD1",
        "TD 1",
        start=str(YEAR - 1),
        end=None,
        elp="UEMATH1",
        members={YEAR: (1, 3), YEAR - 1: (5,)},
    )
    _group(
        data,
        2,
        "UEMATH1TD9",
        "TD 9 (ancien)",
        start="2022",
        end=str(YEAR - 1),
        elp="UEMATH1",
        members={YEAR: (2,)},
    )
    _group(
        data, 3, "LMATH1S1", "Série 1 Mathématiques", start="2020", end=None, members={YEAR: (1, 2)}
    )
    return data
