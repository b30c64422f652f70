"""identity: link 100,000 persons' accounts on 4 platforms (≈ 400,000 accounts).

Prints the linker's time against a baseline measured in the same run — rapidfuzz's own
``process.cdist`` over the very blocks the fuzzy stage compares — and the peak RSS growth.
The population (generated, with drift and collisions) is made before any clock starts.
"""

from __future__ import annotations

import resource
import time

import numpy as np
from rapidfuzz import fuzz, process

from bench.report import write_report
from services.identity.linking import cdist_workers, fuzzy_blocks, link_accounts
from services.identity.records import ACCEPTED
from tests.identity.population import generate_population

PERSONS = 100_000
GOAL_SECONDS = 20.0


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(blocks: list[tuple[list[str], list[str]]]) -> float:
    started = time.perf_counter()
    for queries, choices in blocks:
        workers = cdist_workers(len(queries) * len(choices))
        process.cdist(
            queries, choices, scorer=fuzz.token_set_ratio, workers=workers, dtype=np.uint8
        )
    return time.perf_counter() - started


def main() -> int:
    population = generate_population(PERSONS, seed=2026, presence=1.0)
    blocks = fuzzy_blocks(population.persons, population.accounts)
    pairs = sum(len(q) * len(c) for q, c in blocks)
    baseline = _baseline(blocks)
    before = _rss_mib()
    started = time.perf_counter()
    decisions = link_accounts(population.persons, population.accounts)
    seconds = time.perf_counter() - started
    growth = _rss_mib() - before
    true = population.true_pairs()
    applied = {(d.account, d.person) for d in decisions if d.status in ACCEPTED}
    figures = {
        "persons": len(population.persons),
        "accounts": len(population.accounts),
        "fuzzy_blocks": len(blocks),
        "fuzzy_pairs": pairs,
        "link_seconds": seconds,
        "baseline_cdist_seconds": baseline,
        "ratio_to_baseline": seconds / baseline if baseline else None,
        "peak_rss_growth_mib": growth,
        "precision": len(applied & true) / len(applied),
        "recall": len(applied & true) / len(true),
        "goals": {"link_seconds": GOAL_SECONDS},
    }
    print(f"{figures['accounts']} accounts of {PERSONS} persons on 4 platforms")
    print(
        f"baseline, process.cdist over the {len(blocks)} fuzzy blocks ({pairs} pairs): "
        f"{baseline:.2f} s"
    )
    print(
        f"linking (exact keys, then the same blocks): {seconds:.2f} s "
        f"(x{figures['ratio_to_baseline']:.1f} the baseline; goal <= {GOAL_SECONDS:.0f} s)"
    )
    print(f"peak RSS growth while linking: {growth:.0f} MiB")
    print(f"precision {figures['precision']:.4%}, recall {figures['recall']:.4%}")
    print(f"written to {write_report('identity', figures)}")
    return 0
