"""The whole synthetic Apogée for one seed: same seed, scale and year, same rows."""

from __future__ import annotations

import random

from sim.apogee.dataset import Dataset
from sim.apogee.load import load_dataset
from sim.apogee.offer import build_offer
from sim.apogee.population import build_population
from sim.apogee.scales import SCALES, Scale

DEFAULT_YEAR = 2026
DEFAULT_SEED = 20260901


def generate_dataset(
    *, scale: Scale, year: int = DEFAULT_YEAR, seed: int = DEFAULT_SEED
) -> Dataset:
    rng = random.Random(seed)
    dataset = Dataset()
    offer = build_offer(dataset, scale=scale, year=year, rng=rng)
    build_population(dataset, offer=offer, scale=scale, rng=rng)
    return dataset


async def generate(
    url: str, *, scale: str = "demo", year: int = DEFAULT_YEAR, seed: int = DEFAULT_SEED
) -> dict[str, int]:
    """Generates the ``scale`` dataset and loads it at ``url``; returns rows per table."""
    dataset = generate_dataset(scale=SCALES[scale], year=year, seed=seed)
    return await load_dataset(url, dataset)
