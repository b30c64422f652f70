"""identity: link 100,000 persons' accounts on 4 platforms (≈ 400,000 accounts).

Prints the linker's time against a baseline measured in the same run — rapidfuzz's own
``process.cdist`` over the very blocks the fuzzy stage compares — and the peak RSS growth.
The population (generated, with drift and collisions) is made before any clock starts.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bench.report import write_report
from services.identity.linking import cdist_workers, fuzzy_blocks, link_accounts
from services.identity.records import ACCEPTED
from tests.identity.population import generate_population

PERSONS = 100_000
GOAL_SECONDS = 20.0


def _status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _start_peak() -> tuple[float, bool]:
    """The resident size now, with the kernel's high-water mark reset to it (``clear_refs``
    5), so that the peak read afterwards belongs to what ran in between; where that is not
    possible, the process's peak so far (the growth is then a lower bound)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        now = _status_mib("VmRSS")
        if now is not None:
            return now, True
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, False


def _peak_since(start: float, reset: bool) -> float:
    peak = _status_mib("VmHWM") if reset else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak - start


def _load() -> str:
    """The machine's 1-minute load average: the figures are shared-machine figures."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _baseline(blocks: list[tuple[list[str], list[str]]]) -> tuple[float, float]:
    """Wall and process CPU seconds of ``process.cdist`` alone over the blocks."""
    started, cpu = time.perf_counter(), time.process_time()
    for queries, choices in blocks:
        workers = cdist_workers(len(queries) * len(choices))
        process.cdist(
            queries, choices, scorer=fuzz.token_set_ratio, workers=workers, dtype=np.uint8
        )
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> int:
    population = generate_population(PERSONS, seed=2026, presence=1.0)
    blocks = fuzzy_blocks(population.persons, population.accounts)
    pairs = sum(len(q) * len(c) for q, c in blocks)
    baseline, baseline_cpu = _baseline(blocks)
    load_before = _load()
    before, reset = _start_peak()
    started, cpu = time.perf_counter(), time.process_time()
    decisions = link_accounts(population.persons, population.accounts)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    growth = _peak_since(before, reset)
    load_after = _load()
    true = population.true_pairs()
    applied = {
        (a, d.person) for a, d in enumerate(decisions) if d is not None and d.status in ACCEPTED
    }
    figures = {
        "persons": len(population.persons),
        "accounts": len(population.accounts),
        "fuzzy_blocks": len(blocks),
        "fuzzy_pairs": pairs,
        "link_seconds": seconds,
        "link_cpu_seconds": cpu_seconds,
        "baseline_cdist_seconds": baseline,
        "baseline_cdist_cpu_seconds": baseline_cpu,
        "loadavg_1min": [load_before, load_after],
        "ratio_to_baseline": seconds / baseline if baseline else None,
        "peak_rss_growth_mib": growth,
        "peak_rss_growth_exact": reset,
        "precision": len(applied & true) / len(applied),
        "recall": len(applied & true) / len(true),
        "goals": {"link_seconds": GOAL_SECONDS},
    }
    print(f"{figures['accounts']} accounts of {PERSONS} persons on 4 platforms")
    print(
        f"baseline, process.cdist over the {len(blocks)} fuzzy blocks ({pairs} pairs): "
        f"{baseline:.2f} s ({baseline_cpu:.2f} s of CPU)"
    )
    print(
        f"linking (exact keys, then the same blocks): {seconds:.2f} s, {cpu_seconds:.2f} s of "
        f"CPU (x{figures['ratio_to_baseline']:.1f} the baseline; goal <= {GOAL_SECONDS:.0f} s)"
    )
    print(f"machine load (1 min) before/after linking: {load_before} / {load_after}")
    how = "high-water mark reset before linking" if reset else "a lower bound: process peak"
    print(f"peak RSS growth while linking: {growth:.0f} MiB ({how})")
    print(f"precision {figures['precision']:.4%}, recall {figures['recall']:.4%}")
    print(f"written to {write_report('identity', figures)}")
    return 0
