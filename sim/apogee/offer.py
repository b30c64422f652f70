"""The teaching offer: components, VETs, their ELP trees (semester → UE → ECUE), TD/TP groups
and séries, written as Apogée rows, plus the Python shape that the population step walks."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from sim.apogee import names
from sim.apogee.dataset import Dataset
from sim.apogee.scales import Scale

LEVELS: tuple[tuple[str, str, float], ...] = (
    # (level code, label, share of a mention's students)
    ("L1", "Licence 1re année", 3.0),
    ("L2", "Licence 2e année", 2.2),
    ("L3", "Licence 3e année", 1.8),
    ("M1", "Master 1re année", 1.0),
    ("M2", "Master 2e année", 0.8),
)

ElpLink = tuple[str, str]  # (cod_elp, cod_lse of the list that holds it)


@dataclass
class Tree:
    """What a student of the VET is contracted to: every mandatory ELP and one option per
    choice list (an option is a UE with its ECUEs). ``grouped`` ELPs carry TD/TP groups."""

    top_lse: str
    mandatory: list[ElpLink] = field(default_factory=list)
    choices: list[list[list[ElpLink]]] = field(default_factory=list)
    grouped: dict[str, tuple[str, int]] = field(default_factory=dict)  # elp -> (tgr, size)
    closed: set[str] = field(default_factory=set)


@dataclass(eq=False)  # identity: used as a roster key
class Vet:
    cod_etp: str
    cod_vrs_vet: int
    cod_cmp: str
    cod_dip: str
    weight: float
    tree: Tree
    recruits: tuple[int, int]
    previous: Vet | None = None  # the same mention one level below

    def offered(self, year: int) -> bool:
        return self.recruits[0] <= year <= self.recruits[1]


@dataclass
class Offer:
    year: int
    vets: list[Vet] = field(default_factory=list)


class _Codes:
    """Sequential Apogée codes: ELPs are 2 letters + 6 digits, lists 'L' + 7 digits."""

    def __init__(self) -> None:
        self.elp = 0
        self.lse = 0

    def next_elp(self, cmp_letter: str, nature: str) -> str:
        self.elp += 1
        return f"{cmp_letter}{nature[0]}{self.elp:06d}"

    def next_lse(self) -> str:
        self.lse += 1
        return f"L{self.lse:07d}"


def build_offer(dataset: Dataset, *, scale: Scale, year: int, rng: random.Random) -> Offer:
    offer = Offer(year=year)
    codes = _Codes()
    _reference_rows(dataset, year=year)
    for index, (label, short) in enumerate(names.COMPONENTS[: scale.components]):
        letter = string.ascii_uppercase[index]
        cod_cmp = f"{letter}{index:02d}"
        dataset.add(
            "composante",
            cod_cmp=cod_cmp,
            lib_cmp=label,
            lic_cmp=short,
            cod_tpc="INT",
            tem_en_sve_cmp="O",
        )
        for mention in range(scale.mentions_per_component):
            _mention(
                dataset,
                offer,
                codes,
                rng=rng,
                scale=scale,
                letter=letter,
                cod_cmp=cod_cmp,
                mention=mention,
            )
    return offer


def _reference_rows(dataset: Dataset, *, year: int) -> None:
    for cod_anu, iae, res in ((year - 2, "N", "N"), (year - 1, "N", "O"), (year, "O", "N")):
        dataset.add(
            "annee_uni",
            cod_anu=str(cod_anu),
            lib_anu=f"{cod_anu}/{cod_anu + 1}",
            eta_anu_iae=iae,
            eta_anu_res=res,
        )
    for cod_nel, lib, fictif in (
        ("SEM", "Semestre", "N"),
        ("UE", "Unité d'enseignement", "N"),
        ("ECUE", "Élément constitutif d'UE", "N"),
        ("TECH", "Élément technique (jury)", "O"),
    ):
        dataset.add(
            "nature_elp", cod_nel=cod_nel, lib_nel=lib, tem_fictif=fictif, tem_en_sve_nel="O"
        )


def _mention(
    dataset: Dataset,
    offer: Offer,
    codes: _Codes,
    *,
    rng: random.Random,
    scale: Scale,
    letter: str,
    cod_cmp: str,
    mention: int,
) -> None:
    discipline = rng.choice(names.DISCIPLINES)
    track = rng.choice(names.TRACKS)
    popularity = rng.uniform(0.3, 2.5)
    previous: Vet | None = None
    for level, level_label, share in LEVELS:
        cod_etp = f"{level}{letter}{mention:03d}"
        title = f"{level_label} {discipline} {track}".strip()
        dataset.add(
            "etape",
            cod_etp=cod_etp,
            lib_etp=title[:60],
            lic_etp=f"{level} {discipline}"[:25],
            cod_cyc="1" if level[0] == "L" else "2",
            cod_cur=level[0],
        )
        tree = _tree(
            dataset,
            codes,
            rng=rng,
            scale=scale,
            letter=letter,
            cod_cmp=cod_cmp,
            level=level,
            discipline=discipline,
        )
        versions = _versions(rng, year=offer.year, scale=scale)
        for vrs, recruits in versions:
            vet = Vet(
                cod_etp=cod_etp,
                cod_vrs_vet=vrs,
                cod_cmp=cod_cmp,
                cod_dip=f"{level[0]}{letter}{mention:03d}"[:7],
                weight=share * popularity,
                tree=tree,
                recruits=recruits,
                previous=previous,
            )
            _vet_rows(dataset, vet=vet, title=title)
            offer.vets.append(vet)
        previous = offer.vets[-1]


def _versions(rng: random.Random, *, year: int, scale: Scale) -> list[tuple[int, tuple[int, int]]]:
    """Most VETs recruit every year; a few were replaced by a new version this year."""
    if rng.random() < scale.replaced_vet_share:
        return [(1, (year - 6, year - 1)), (2, (year, 2099))]
    return [(1, (year - 6, 2099))]


def _vet_rows(dataset: Dataset, *, vet: Vet, title: str) -> None:
    label = title if vet.cod_vrs_vet == 1 else f"{title} (nouvelle maquette)"
    dataset.add(
        "version_etape",
        cod_etp=vet.cod_etp,
        cod_vrs_vet=vet.cod_vrs_vet,
        lib_web_vet=label[:120],
        cod_cmp=vet.cod_cmp,
    )
    first, last = vet.recruits
    dataset.add(
        "vdi_fractionner_vet",
        cod_dip=vet.cod_dip,
        cod_vrs_vdi=vet.cod_vrs_vet,
        cod_etp=vet.cod_etp,
        cod_vrs_vet=vet.cod_vrs_vet,
        daa_deb_rct_vet=str(first),
        daa_fin_rct_vet=str(last),
        daa_deb_val_vet=str(first),
        daa_fin_val_vet=str(last + 1 if last < 2099 else last),
    )
    dataset.add(
        "vet_regroupe_lse",
        cod_etp=vet.cod_etp,
        cod_vrs_vet=vet.cod_vrs_vet,
        cod_lse=vet.tree.top_lse,
        dat_cre_rel_lse_vet=None,
        dat_frm_rel_lse_vet=None,
    )


@dataclass
class _Elps:
    """What every ELP of one mention's tree shares: where its rows go, its codes, its
    component, the random source, and the tree being built."""

    dataset: Dataset
    codes: _Codes
    rng: random.Random
    scale: Scale
    letter: str
    cod_cmp: str
    tree: Tree

    def elp(self, *, nature: str, label: str, period: str | None, closed: bool = False) -> str:
        cod_elp = self.codes.next_elp(self.letter, nature)
        suspended = not closed and cod_elp.endswith("97")  # a few suspended, deterministically
        self.dataset.add(
            "element_pedagogi",
            cod_elp=cod_elp,
            lib_elp=label[:60],
            lic_elp=label[:25],
            cod_nel=nature,
            cod_pel=period,
            cod_cmp=self.cod_cmp,
            eta_elp="F" if closed else "O",
            tem_sus_elp="O" if suspended else "N",
            nbr_crd_elp=6 if nature == "UE" else None,
        )
        return cod_elp

    def ue(
        self, *, period: str, parent: str, lse: str, typ: str, number: int, closed: bool = False
    ) -> list[ElpLink]:
        subject = self.rng.choice(names.SUBJECTS)
        label = f"UE{number + 1} {subject}"
        ue = self.elp(nature="UE", label=label, period=period, closed=closed)
        _link(self.dataset, lse, parent, ue, typ)
        links: list[ElpLink] = [(ue, lse)]
        ecue_lse = self.codes.next_lse()
        for part in range(self.rng.randint(1, 3)):
            label = f"{subject} {('CM', 'TD', 'TP')[part]} – partie {part + 1}"
            ecue = self.elp(nature="ECUE", label=label, period=period)
            _link(self.dataset, ecue_lse, ue, ecue, "O")
            links.append((ecue, ecue_lse))
        if closed:
            self.tree.closed.add(ue)
        return links

    def choice(self, *, period: str, parent: str) -> list[list[ElpLink]]:
        lse = self.codes.next_lse()
        options = []
        for number in range(self.rng.randint(2, self.scale.max_options)):
            closed = self.rng.random() < self.scale.closed_elp_share
            options.append(
                self.ue(
                    period=period,
                    parent=parent,
                    lse=lse,
                    typ="X",
                    number=10 + number,
                    closed=closed,
                )
            )
        return options


def _tree(
    dataset: Dataset,
    codes: _Codes,
    *,
    rng: random.Random,
    scale: Scale,
    letter: str,
    cod_cmp: str,
    level: str,
    discipline: str,
) -> Tree:
    top = codes.next_lse()
    tree = Tree(top_lse=top)
    elps = _Elps(dataset, codes, rng, scale, letter, cod_cmp, tree)
    for semester in (1, 2):
        period = f"S{_semester_number(level, semester)}"
        sem = elps.elp(nature="SEM", label=f"{period} {discipline}", period=period)
        _link(dataset, top, None, sem, "O")
        tree.mandatory.append((sem, top))
        mandatory_lse = codes.next_lse()
        for number in range(scale.mandatory_ues):
            ue = elps.ue(period=period, parent=sem, lse=mandatory_lse, typ="O", number=number)
            tree.mandatory.extend(ue)
            if number < 2:
                tree.grouped[ue[0][0]] = ("TD", 25)
            if number == 0 and len(ue) > 1:
                tree.grouped[ue[1][0]] = ("TP", 16)
        tree.choices.append(elps.choice(period=period, parent=sem))
    jury = elps.elp(nature="TECH", label=f"Points jury {level} {discipline}", period=None)
    _link(dataset, top, None, jury, "O")
    tree.mandatory.append((jury, top))
    return tree


def _semester_number(level: str, semester: int) -> int:
    year_in_cycle = int(level[1]) + (3 if level[0] == "M" else 0)
    return 2 * (year_in_cycle - 1) + semester


def _link(dataset: Dataset, lse: str, parent: str | None, child: str, typ: str) -> None:
    dataset.add(
        "elp_regroupe_elp",
        cod_lse=lse,
        cod_elp_pere=parent,
        cod_elp_fils=child,
        cod_typ_lse=typ,
        eta_lse="O",
        eta_elp_pere="O" if parent else None,
        eta_elp_fils="O",
        tem_sus_elp_pere="N" if parent else None,
        tem_sus_elp_fils="N",
        date_fermeture_lien=None,
    )
