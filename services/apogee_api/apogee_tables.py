"""The subset of Apogée's tables that the API reads, with Apogée's own names.

Names are lower-case and unquoted so that the same Core queries reach ``APOGEE.INDIVIDU`` on an
Oracle replica (case-insensitive identifiers) and ``individu`` on PostgreSQL or SQLite. Only the
columns that public integrations read are declared (``reference/apogee.md`` §2). The service
never creates these tables: the generator (``sim.apogee``) and the tests do.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, MetaData, Numeric, String, Table

metadata = MetaData()

annee_uni = Table(
    "annee_uni",
    metadata,
    Column("cod_anu", String(4), primary_key=True),
    Column("lib_anu", String(40)),
    Column("eta_anu_iae", String(1), nullable=False),  # 'O' = open for IA
    Column("eta_anu_res", String(1), nullable=False),
)

composante = Table(
    "composante",
    metadata,
    Column("cod_cmp", String(3), primary_key=True),
    Column("lib_cmp", String(60), nullable=False),
    Column("lic_cmp", String(25)),
    Column("cod_tpc", String(3)),
    Column("tem_en_sve_cmp", String(1)),
)

individu = Table(
    "individu",
    metadata,
    Column("cod_ind", Integer, primary_key=True),
    Column("cod_etu", Integer),
    Column("cod_nne_ind", String(10)),
    Column("cod_cle_nne_ind", String(1)),
    Column("lib_nom_pat_ind", String(30), nullable=False),
    Column("lib_nom_usu_ind", String(30)),
    Column("lib_pr1_ind", String(20), nullable=False),
    Column("lib_pr2_ind", String(20)),
    Column("date_nai_ind", Date),
    Column("cod_sex_etu", String(1)),
    Index("ix_individu_cod_etu", "cod_etu", unique=True),
)

etape = Table(
    "etape",
    metadata,
    Column("cod_etp", String(6), primary_key=True),
    Column("lib_etp", String(60), nullable=False),
    Column("lic_etp", String(25)),
    Column("cod_cyc", String(1)),
    Column("cod_cur", String(1)),
)

version_etape = Table(
    "version_etape",
    metadata,
    Column("cod_etp", String(6), primary_key=True),
    Column("cod_vrs_vet", Integer, primary_key=True),
    Column("lib_web_vet", String(120)),
    Column("cod_cmp", String(3)),
)

vdi_fractionner_vet = Table(
    "vdi_fractionner_vet",
    metadata,
    Column("cod_dip", String(7), primary_key=True),
    Column("cod_vrs_vdi", Integer, primary_key=True),
    Column("cod_etp", String(6), primary_key=True),
    Column("cod_vrs_vet", Integer, primary_key=True),
    Column("daa_deb_rct_vet", String(4)),
    Column("daa_fin_rct_vet", String(4)),
    Column("daa_deb_val_vet", String(4)),
    Column("daa_fin_val_vet", String(4)),
)

ins_adm_etp = Table(
    "ins_adm_etp",
    metadata,
    Column("cod_anu", String(4), primary_key=True),
    Column("cod_ind", Integer, primary_key=True),
    Column("cod_etp", String(6), primary_key=True),
    Column("cod_vrs_vet", Integer, primary_key=True),
    Column("num_occ_iae", Integer, primary_key=True),
    Column("cod_dip", String(7)),
    Column("cod_vrs_vdi", Integer),
    Column("cod_cmp", String(3)),
    Column("eta_iae", String(1), nullable=False),  # 'E' in force, 'A' cancelled
    Column("eta_pmt_iae", String(1), nullable=False),  # 'P' paid, 'A' awaiting
    Column("tem_iae_prm", String(1), nullable=False),  # 'O' principal IA
    Column("dat_cre_iae", Date),
    Column("dat_annul_res_iae", Date),
    Index("ix_ins_adm_etp_vet", "cod_anu", "cod_etp", "cod_vrs_vet"),
    Index("ix_ins_adm_etp_ind", "cod_ind", "cod_anu"),
)

nature_elp = Table(
    "nature_elp",
    metadata,
    Column("cod_nel", String(4), primary_key=True),
    Column("lib_nel", String(40), nullable=False),
    Column("tem_fictif", String(1), nullable=False),
    Column("tem_en_sve_nel", String(1)),
)

element_pedagogi = Table(
    "element_pedagogi",
    metadata,
    Column("cod_elp", String(8), primary_key=True),
    Column("lib_elp", String(60), nullable=False),
    Column("lic_elp", String(25)),
    Column("cod_nel", String(4), nullable=False),
    Column("cod_pel", String(3)),
    Column("cod_cmp", String(3)),
    Column("eta_elp", String(1), nullable=False),  # 'O' open, 'F' closed
    Column("tem_sus_elp", String(1), nullable=False),  # 'N' not suspended
    Column("nbr_crd_elp", Numeric(5, 2)),
)

vet_regroupe_lse = Table(
    "vet_regroupe_lse",
    metadata,
    Column("cod_etp", String(6), primary_key=True),
    Column("cod_vrs_vet", Integer, primary_key=True),
    Column("cod_lse", String(8), primary_key=True),
    Column("dat_cre_rel_lse_vet", Date),
    Column("dat_frm_rel_lse_vet", Date),
)

# The flattened tree: COD_ELP_PERE is null at the top of a list (the list hangs off a VET).
elp_regroupe_elp = Table(
    "elp_regroupe_elp",
    metadata,
    Column("cod_lse", String(8), nullable=False),
    Column("cod_elp_pere", String(8)),
    Column("cod_elp_fils", String(8), nullable=False),
    Column("cod_typ_lse", String(1)),
    Column("eta_lse", String(1)),
    Column("eta_elp_pere", String(1)),
    Column("eta_elp_fils", String(1)),
    Column("tem_sus_elp_pere", String(1)),
    Column("tem_sus_elp_fils", String(1)),
    Column("date_fermeture_lien", Date),
    Index("ix_elp_regroupe_elp_fils", "cod_elp_fils"),
)

ind_contrat_elp = Table(
    "ind_contrat_elp",
    metadata,
    Column("cod_anu", String(4), primary_key=True),
    Column("cod_ind", Integer, primary_key=True),
    Column("cod_etp", String(6), primary_key=True),
    Column("cod_vrs_vet", Integer, primary_key=True),
    Column("cod_elp", String(8), primary_key=True),
    Column("cod_lse", String(8)),
    Column("tem_prc_ice", String(1), nullable=False),  # 'N' = followed this year
    Index("ix_ind_contrat_elp_elp", "cod_anu", "cod_elp"),
)

groupe = Table(
    "groupe",
    metadata,
    Column("cod_gpe", Integer, primary_key=True),
    Column("lib_gpe", String(40), nullable=False),
    Column("cod_ext_gpe", String(12), nullable=False),
    Column("cod_tgr", String(4)),
    Column("cod_col", Integer),
    Column("daa_deb_val_gpe", String(4)),
    Column("daa_fin_val_gpe", String(4)),
    Index("ix_groupe_cod_ext_gpe", "cod_ext_gpe"),
)

gpe_obj = Table(
    "gpe_obj",
    metadata,
    Column("cod_gpo", Integer, primary_key=True),
    Column("cod_gpe", Integer, nullable=False),
    Column("typ_obj_gpo", String(3), nullable=False),  # 'ELP' or 'VET' (a série)
    Column("cod_elp", String(8)),
    Column("cod_etp", String(6)),
    Column("cod_vrs_vet", Integer),
    Index("ix_gpe_obj_gpe", "cod_gpe"),
)

ind_affecte_gpe = Table(
    "ind_affecte_gpe",
    metadata,
    Column("cod_anu", String(4), primary_key=True),
    Column("cod_gpe", Integer, primary_key=True),
    Column("cod_ind", Integer, primary_key=True),
    Index("ix_ind_affecte_gpe_ind", "cod_ind", "cod_anu"),
)
