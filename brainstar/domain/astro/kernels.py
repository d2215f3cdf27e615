"""Ahead-of-time warm-up of the astro numba kernels (``cache=True``) for every later process.

numba keys its on-disk cache by argument types, so the kernels are compiled by running the
production light-curve path (``ingest.lightcurve_row``: prepare, then features) on a short
synthetic float64 light curve rather than by hand-written signatures.
"""

from __future__ import annotations

import numpy as np
from numba.core.dispatcher import Dispatcher

from brainstar.domain.astro import lightcurves, periods

# Every cached astro kernel; the three sorted-window helpers are compiled into biweight_trend.
KERNELS: tuple[Dispatcher, ...] = (
    lightcurves._insert_sorted,
    lightcurves._remove_sorted,
    lightcurves._median_and_mad,
    lightcurves.biweight_trend,
    periods.bls_power,
)

TINY_CADENCES = 200  # prepare() needs at least 100 usable cadences
CADENCE_DAYS = 0.0204  # Kepler long cadence, ~29.4 min


def warm_kernels() -> tuple[Dispatcher, ...]:
    """Compile (or load from the cache) every astro kernel with the types production passes."""
    rng = np.random.default_rng(0)
    # The dtypes the Kepler reader produces: float64 time and flux, int64 quality flags.
    time = np.arange(TINY_CADENCES, dtype=np.float64) * CADENCE_DAYS
    flux = 1.0 + 1e-3 * rng.standard_normal(TINY_CADENCES)
    quality = np.zeros(TINY_CADENCES, dtype=np.int64)
    prepared = lightcurves.prepare(time, flux, quality)
    periods.lightcurve_features(prepared["time"], prepared["flat"], prepared["norm"])
    return KERNELS
