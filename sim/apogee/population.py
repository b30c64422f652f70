"""Students and what Apogée records about them over two years: individuals, administrative
enrolments (IA, some cancelled or awaiting payment), pedagogical contracts (some carried over,
``TEM_PRC_ICE='O'``), TD/TP groups, séries and group assignments."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import string
from collections import defaultdict
from dataclasses import dataclass, field

from sim.apogee import names
from sim.apogee.dataset import Dataset
from sim.apogee.offer import Offer, Vet
from sim.apogee.scales import Scale

FIRST_COD_ETU = 21_900_001

IA_COLUMNS = (
    "cod_anu",
    "cod_ind",
    "cod_etp",
    "cod_vrs_vet",
    "num_occ_iae",
    "cod_dip",
    "cod_vrs_vdi",
    "cod_cmp",
    "eta_iae",
    "eta_pmt_iae",
    "tem_iae_prm",
    "dat_annul_res_iae",
)
CONTRACT_COLUMNS = (
    "cod_anu",
    "cod_ind",
    "cod_etp",
    "cod_vrs_vet",
    "cod_elp",
    "cod_lse",
    "tem_prc_ice",
)
GROUPE_COLUMNS = (
    "cod_gpe",
    "lib_gpe",
    "cod_ext_gpe",
    "cod_tgr",
    "cod_col",
    "daa_deb_val_gpe",
    "daa_fin_val_gpe",
)
GPE_OBJ_COLUMNS = ("cod_gpo", "cod_gpe", "typ_obj_gpo", "cod_elp", "cod_etp", "cod_vrs_vet")


@dataclass
class _Rosters:
    """Who was contracted to each grouped ELP and enrolled in each VET, per year."""

    elps: dict[int, dict[str, list[int]]] = field(default_factory=lambda: defaultdict(dict))
    vets: dict[int, dict[Vet, list[int]]] = field(default_factory=lambda: defaultdict(dict))


def build_population(dataset: Dataset, *, offer: Offer, scale: Scale, rng: random.Random) -> None:
    year = offer.year
    graduated = int(scale.students * scale.graduated_share)
    _individuals(dataset, count=scale.students + graduated, year=year, scale=scale, rng=rng)
    current = _assign(rng, offer.vets, year=year, count=scale.students)
    previous = _previous_year(rng, offer.vets, current, year=year, scale=scale)
    previous += _assign(rng, offer.vets, year=year - 1, count=graduated)
    rosters = _Rosters()
    for cod_anu, vets in ((year - 1, previous), (year, current)):
        for index, vet in enumerate(vets):
            if vet is not None:
                _enrol(
                    dataset,
                    rosters,
                    rng=rng,
                    scale=scale,
                    cod_anu=cod_anu,
                    cod_ind=index + 1,
                    vet=vet,
                    principal=True,
                    current=cod_anu == year,
                )
    _double_enrolments(dataset, rosters, rng=rng, scale=scale, offer=offer, current=current)
    _groups(dataset, rosters, offer=offer, scale=scale, rng=rng)


def _individuals(
    dataset: Dataset, *, count: int, year: int, scale: Scale, rng: random.Random
) -> None:
    rows = dataset.rows(
        "individu",
        (
            "cod_ind",
            "cod_etu",
            "cod_nne_ind",
            "cod_cle_nne_ind",
            "lib_nom_pat_ind",
            "lib_nom_usu_ind",
            "lib_pr1_ind",
            "lib_pr2_ind",
            "date_nai_ind",
            "cod_sex_etu",
        ),
    )
    for index in range(count):
        surname = rng.choice(names.SURNAMES).upper()
        married = rng.choice(names.SURNAMES).upper() if rng.random() < 0.05 else None
        has_ine = rng.random() < scale.ine_share
        born = dt.date(year - 18 - rng.randrange(9), rng.randrange(1, 13), rng.randrange(1, 29))
        rows.append(
            (
                index + 1,
                FIRST_COD_ETU + index,
                f"{1_234_500_000 + index * 7:010d}" if has_ine else None,
                rng.choice(string.ascii_uppercase) if has_ine else None,
                surname,
                married,
                rng.choice(names.FIRST_NAMES),
                rng.choice(names.FIRST_NAMES) if rng.random() < 0.4 else None,
                born,
                rng.choice("MF"),
            )
        )


def _assign(rng: random.Random, vets: list[Vet], *, year: int, count: int) -> list[Vet | None]:
    open_vets = [vet for vet in vets if vet.offered(year)]
    weights = list(itertools.accumulate(vet.weight for vet in open_vets))
    return list(rng.choices(open_vets, cum_weights=weights, k=count))


def _previous_year(
    rng: random.Random, vets: list[Vet], current: list[Vet | None], *, year: int, scale: Scale
) -> list[Vet | None]:
    """Returning students were one level below last year (or repeated); first-years are new."""
    by_etp = {vet.cod_etp: vet for vet in vets if vet.offered(year - 1)}
    result: list[Vet | None] = []
    for vet in current:
        came_back = vet is not None and rng.random() < scale.returning_share
        if vet is None or not came_back:
            result.append(None)
            continue
        below = vet.previous.cod_etp if vet.previous and rng.random() < 0.85 else vet.cod_etp
        result.append(by_etp.get(below))
    return result


def _enrol(
    dataset: Dataset,
    rosters: _Rosters,
    *,
    rng: random.Random,
    scale: Scale,
    cod_anu: int,
    cod_ind: int,
    vet: Vet,
    principal: bool,
    current: bool,
) -> None:
    draw = rng.random()
    cancelled = draw < scale.cancelled_ia_share
    awaiting = not cancelled and draw < scale.cancelled_ia_share + scale.awaiting_payment_share
    anu = str(cod_anu)
    dataset.rows("ins_adm_etp", IA_COLUMNS).append(
        (
            anu,
            cod_ind,
            vet.cod_etp,
            vet.cod_vrs_vet,
            1,
            vet.cod_dip,
            vet.cod_vrs_vet,
            vet.cod_cmp,
            "A" if cancelled else "E",
            "A" if awaiting else "P",
            "O" if principal else "N",
            dt.date(cod_anu, 10, 15) if cancelled else None,
        )
    )
    rosters.vets[cod_anu].setdefault(vet, []).append(cod_ind)
    contracts = dataset.rows("ind_contrat_elp", CONTRACT_COLUMNS)
    tree = vet.tree
    followed = list(tree.mandatory)
    for options in tree.choices:
        # Closed options take no new students; last year they still did.
        open_options = [o for o in options if o[0][0] not in tree.closed] or options
        followed += rng.choice(open_options if current else options)
    carried = scale.carried_contract_share
    for cod_elp, cod_lse in followed:
        contracts.append(
            (
                anu,
                cod_ind,
                vet.cod_etp,
                vet.cod_vrs_vet,
                cod_elp,
                cod_lse,
                "O" if rng.random() < carried else "N",
            )
        )
        if cod_elp in tree.grouped:
            rosters.elps[cod_anu].setdefault(cod_elp, []).append(cod_ind)


def _double_enrolments(
    dataset: Dataset,
    rosters: _Rosters,
    *,
    rng: random.Random,
    scale: Scale,
    offer: Offer,
    current: list[Vet | None],
) -> None:
    open_vets = [vet for vet in offer.vets if vet.offered(offer.year)]
    for index, vet in enumerate(current):
        if vet is None or rng.random() >= scale.double_ia_share:
            continue
        other = rng.choice(open_vets)
        if other.cod_etp != vet.cod_etp:
            _enrol(
                dataset,
                rosters,
                rng=rng,
                scale=scale,
                cod_anu=offer.year,
                cod_ind=index + 1,
                vet=other,
                principal=False,
                current=True,
            )


def _groups(
    dataset: Dataset, rosters: _Rosters, *, offer: Offer, scale: Scale, rng: random.Random
) -> None:
    groupe = dataset.rows("groupe", GROUPE_COLUMNS)
    gpe_obj = dataset.rows("gpe_obj", GPE_OBJ_COLUMNS)
    members = dataset.rows("ind_affecte_gpe", ("cod_anu", "cod_gpe", "cod_ind"))
    counter = itertools.count(1)
    year = offer.year
    trees = {vet.tree.top_lse: vet.tree for vet in offer.vets}
    for tree in trees.values():
        for cod_elp, (tgr, size) in sorted(tree.grouped.items()):
            current = rosters.elps[year].get(cod_elp, [])
            last = rosters.elps[year - 1].get(cod_elp, [])
            count = max(len(current), len(last)) // size
            if count < 2:
                continue
            # One ELP in ten also kept last year's extra group, valid until last year only.
            old = rng.random() < 0.1
            ids = [next(counter) for _ in range(count + old)]
            for number, cod_gpe in enumerate(ids, start=1):
                ended = old and number == len(ids)
                groupe.append(
                    (
                        cod_gpe,
                        f"{tgr} {number}",
                        f"{cod_elp}{tgr}{number}",
                        tgr,
                        None,
                        str(year - (3 if ended else 1)),
                        str(year - 1) if ended else None,
                    )
                )
                gpe_obj.append((cod_gpe, cod_gpe, "ELP", cod_elp, None, None))
            _assign_groups(members, year, current, ids[:count])
            _assign_groups(members, year - 1, last, ids)
    for vet in offer.vets:
        _series(
            groupe,
            gpe_obj,
            members,
            rosters,
            vet=vet,
            year=year,
            size=scale.serie_size,
            counter=counter,
        )


def _series(
    groupe: list[tuple[object, ...]],
    gpe_obj: list[tuple[object, ...]],
    members: list[tuple[object, ...]],
    rosters: _Rosters,
    *,
    vet: Vet,
    year: int,
    size: int,
    counter: itertools.count[int],
) -> None:
    current = rosters.vets[year].get(vet, [])
    last = rosters.vets[year - 1].get(vet, [])
    count = max(len(current), len(last)) // size
    if count < 2:
        return
    ids = [next(counter) for _ in range(count)]
    for number, cod_gpe in enumerate(ids, start=1):
        code = f"{vet.cod_etp}{vet.cod_vrs_vet}S{number}"
        groupe.append(
            (
                cod_gpe,
                f"Série {number} {vet.cod_etp}",
                code,
                "SER",
                None,
                str(vet.recruits[0]),
                None,
            )
        )
        gpe_obj.append((cod_gpe, cod_gpe, "VET", None, vet.cod_etp, vet.cod_vrs_vet))
    _assign_groups(members, year, current, ids)
    _assign_groups(members, year - 1, last, ids)


def _assign_groups(
    members: list[tuple[object, ...]], year: int, students: list[int], ids: list[int]
) -> None:
    anu = str(year)
    members.extend((anu, ids[index % len(ids)], cod_ind) for index, cod_ind in enumerate(students))
