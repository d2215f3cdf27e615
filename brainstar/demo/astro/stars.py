"""The demo's stars: Gaia-like ids, positions, distances and extinction around drawn parameters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainstar.demo.astro import physics

GAIA_DR3_ID_OFFSET = 3_600_000_000_000_000_000  # ids of the demo field lie in this Gaia DR3 range


@dataclass(frozen=True)
class DemoStar:
    source_id: int
    ra_deg: float
    dec_deg: float
    params: physics.StellarParams
    distance_pc: float
    av_mag: float


def draw_stars(rng: np.random.Generator, n: int) -> list[DemoStar]:
    """``n`` stars in a 10 x 10 degree field, 100-1500 pc (log-uniform), A_V ~0.6 mag/kpc."""
    ids = np.sort(rng.choice(2**40, size=n, replace=False)) + GAIA_DR3_ID_OFFSET
    stars = []
    for source_id in ids:
        distance = float(np.exp(rng.uniform(np.log(100.0), np.log(1500.0))))
        av = float(0.6 * distance / 1000.0 * rng.uniform(0.3, 1.7))
        ra, dec = float(rng.uniform(180.0, 190.0)), float(rng.uniform(0.0, 10.0))
        stars.append(DemoStar(int(source_id), ra, dec, physics.draw_stellar_params(rng), distance, av))
    return stars
