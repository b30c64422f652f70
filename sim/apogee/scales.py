"""How big the synthetic Apogée is: ``demo`` for the all-in-one mode, ``ub`` for Bordeaux."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    students: int
    components: int
    mentions_per_component: int
    mandatory_ues: int = 4
    max_options: int = 3
    closed_elp_share: float = 0.04
    replaced_vet_share: float = 0.04
    cancelled_ia_share: float = 0.02
    awaiting_payment_share: float = 0.03
    double_ia_share: float = 0.02
    carried_contract_share: float = 0.03
    returning_share: float = 0.75  # students of this year already enrolled last year
    graduated_share: float = 0.2  # last year's students who left, relative to this year's
    ine_share: float = 0.9
    serie_size: int = 40


SCALES: dict[str, Scale] = {
    "demo": Scale(students=3_000, components=4, mentions_per_component=4),
    "ub": Scale(students=52_000, components=14, mentions_per_component=19),
}
