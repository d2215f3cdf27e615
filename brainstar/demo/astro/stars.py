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


# The field (RA 180-190, Dec 0-10) lies at Galactic latitude ~60-70 deg: the line of sight leaves
# the dust layer (scale height ~150 pc) within ~170 pc, so A_V saturates at the total column.
DUST_LENGTH_PC = 170.0
TOTAL_AV_RANGE = (
    0.05,
    0.4,
)  # mag, total A_V along the line of sight (SFD-like at this latitude, with margin)
# A magnitude-limited sample, as SDSS's spectroscopic stars are: the spectrographs saturate on
# brighter stars, and fainter ones are too noisy for stellar parameters. G before extinction.
G_RANGE = (12.0, 17.5)


def distance_for_g_pc(params: physics.StellarParams, g_mag: float) -> float:
    """The distance at which a star of ``params`` has apparent G = ``g_mag`` (no extinction), in pc."""
    return float(10.0 ** ((g_mag - physics.absolute_g(params)) / 5.0 + 1.0))


def draw_stars(rng: np.random.Generator, n: int) -> list[DemoStar]:
    """``n`` stars in a 10 x 10 degree high-latitude field, G uniform in 12-17.5 (so luminous giants and
    A stars lie kpc away and dwarfs within a few hundred pc, as in SDSS), A_V = A_total
    (1 - exp(-d / 170 pc)) with A_total uniform in 0.05-0.4 mag."""
    ids = np.sort(rng.choice(2**40, size=n, replace=False)) + GAIA_DR3_ID_OFFSET
    stars = []
    for source_id in ids:
        params = physics.draw_stellar_params(rng)
        distance = distance_for_g_pc(params, float(rng.uniform(*G_RANGE)))
        av = float(rng.uniform(*TOTAL_AV_RANGE) * -np.expm1(-distance / DUST_LENGTH_PC))
        ra, dec = float(rng.uniform(180.0, 190.0)), float(rng.uniform(0.0, 10.0))
        stars.append(DemoStar(int(source_id), ra, dec, params, distance, av))
    return stars
