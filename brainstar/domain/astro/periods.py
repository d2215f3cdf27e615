"""Period search: a numba box least squares (BLS) and astropy's Lomb-Scargle, plus LC features.

The BLS follows Kovacs, Zucker & Mazeh (2002) with astropy's "fast" binning: fold, bin
into ``bin_days`` bins, then test every box start and duration on cumulative sums.
Power is the chi^2 improvement of a box over a constant, ``Y_in^2 W / (W_in (W - W_in))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.timeseries import LombScargle
from numba import njit

BLS_DURATIONS_DAYS = np.array([0.06, 0.09, 0.13, 0.18, 0.25, 0.35])
BLS_PERIOD_RANGE_DAYS = (0.5, 15.0)
LS_PERIOD_RANGE_DAYS = (0.09, 10.0)
LS_SAMPLES_PER_PEAK = 3.0
VIEW_BINS = 64
LS_VIEW_BINS = 32


def bls_periods(
    baseline_days: float, min_duration: float = BLS_DURATIONS_DAYS[0], oversample: float = 1.0
) -> np.ndarray:
    """Periods (days) log-spaced so that a box drifts < min_duration / oversample over the baseline.

    A period error dP shifts the last transit by baseline * dP / P, so d ln P <= duration / baseline.
    """
    step = min_duration / baseline_days / oversample
    low, high = BLS_PERIOD_RANGE_DAYS
    return np.exp(np.arange(np.log(low), np.log(high), step))


@njit(cache=True)
def bls_power(
    time: np.ndarray, flux: np.ndarray, weights: np.ndarray, periods: np.ndarray, durations: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BLS power, depth, duration and mid-time per period; all shape (n_periods,).

    ``flux`` is relative (continuum ~1), ``weights`` inverse variances. ``durations`` in days.
    Bin width is the shortest duration / 3, so durations are resolved to a third of the shortest.
    """
    n_periods = periods.size
    power = np.zeros(n_periods)
    depth_out = np.zeros(n_periods)
    dur_out = np.zeros(n_periods)
    t0_out = np.zeros(n_periods)
    w_total = weights.sum()
    mean = (weights * flux).sum() / w_total
    y = mean - flux  # dips are positive
    t_ref = time[0]
    dt = time - t_ref
    wy = weights * y
    bin_days = durations.min() / 3.0
    # One thread: the three ingestion assets already run in parallel, and on the shared 2-core
    # machine a prange version measured 1.8x slower than this loop (benchmarks/astro_lightcurves.py).
    for k in range(n_periods):
        period = periods[k]
        frequency = 1.0 / period
        n_bins = max(int(period / bin_days), 4)
        wb = np.zeros(2 * n_bins + 1)
        yb = np.zeros(2 * n_bins + 1)
        for i in range(dt.size):
            phase = dt[i] * frequency
            b = int((phase - int(phase)) * n_bins)
            if b >= n_bins:
                b = n_bins - 1
            wb[b + 1] += weights[i]
            yb[b + 1] += wy[i]
        # Unroll one period so boxes can wrap through phase 0; then prefix sums.
        for b in range(n_bins):
            wb[n_bins + b + 1] = wb[b + 1]
            yb[n_bins + b + 1] = yb[b + 1]
        for b in range(1, 2 * n_bins + 1):
            wb[b] += wb[b - 1]
            yb[b] += yb[b - 1]
        best = 0.0
        best_depth = 0.0
        best_duration = 0.0
        best_t0 = 0.0
        for d in range(durations.size):
            width = round(durations[d] / period * n_bins)
            if width < 1 or width >= n_bins // 2:
                continue
            for start in range(n_bins):
                w_in = wb[start + width] - wb[start]
                if w_in <= 0.0 or w_in >= w_total:
                    continue
                y_in = yb[start + width] - yb[start]
                if y_in <= 0.0:
                    continue
                p = y_in * y_in * w_total / (w_in * (w_total - w_in))
                if p > best:
                    best = p
                    best_depth = y_in * w_total / (w_in * (w_total - w_in))
                    best_duration = width * period / n_bins
                    best_t0 = t_ref + (start + 0.5 * width) * period / n_bins
        power[k] = best
        depth_out[k] = best_depth
        dur_out[k] = best_duration
        t0_out[k] = best_t0
    return power, depth_out, dur_out, t0_out


@dataclass(frozen=True)
class BlsResult:
    period_days: float
    t0_days: float
    duration_days: float
    depth: float
    power: float
    sde: float  # signal detection efficiency: (peak - mean) / std of the power spectrum


def bls_search(time: np.ndarray, flat: np.ndarray, periods: np.ndarray | None = None) -> BlsResult:
    """Best box in a detrended light curve; ``periods`` default to :func:`bls_periods`."""
    if periods is None:
        periods = bls_periods(float(np.ptp(time)))
    resid = flat - np.median(flat)
    sigma = 1.4826 * np.median(np.abs(resid))
    weights = np.full(time.size, 1.0 / max(sigma, 1e-9) ** 2)
    power, depth, duration, t0 = bls_power(time, flat, weights, periods, BLS_DURATIONS_DAYS)
    best = int(np.argmax(power))
    sde = float((power[best] - power.mean()) / max(power.std(), 1e-12))
    return BlsResult(
        float(periods[best]),
        float(t0[best]),
        float(duration[best]),
        float(depth[best]),
        float(power[best]),
        sde,
    )


def lomb_scargle(time: np.ndarray, flux: np.ndarray) -> tuple[float, float]:
    """(best period in days, normalised power) over LS_PERIOD_RANGE_DAYS, LS_SAMPLES_PER_PEAK grid."""
    f_min, f_max = 1.0 / LS_PERIOD_RANGE_DAYS[1], 1.0 / LS_PERIOD_RANGE_DAYS[0]
    frequency = np.arange(f_min, f_max, 1.0 / (LS_SAMPLES_PER_PEAK * np.ptp(time)))
    power = LombScargle(time, flux).power(frequency, method="fast")
    best = int(np.argmax(power))
    return float(1.0 / frequency[best]), float(power[best])


def folded_view(time: np.ndarray, flux: np.ndarray, period: float, t0: float, n_bins: int) -> np.ndarray:
    """Median flux - 1 in ``n_bins`` phase bins centred on ``t0`` (phase -0.5..0.5); shape (n_bins,)."""
    phase = np.mod(time - t0 + 0.5 * period, period) / period
    index = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    sums = np.bincount(index, flux - 1.0, n_bins)
    counts = np.bincount(index, None, n_bins)
    view = np.zeros(n_bins)
    np.divide(sums, counts, out=view, where=counts > 0)
    return view


def lightcurve_features(time: np.ndarray, flat: np.ndarray, norm: np.ndarray) -> dict[str, object]:
    """Scalar features and folded views of one prepared light curve (see lightcurves.prepare)."""
    bls = bls_search(time, flat)
    ls_period, ls_power = lomb_scargle(time, norm)
    noise = 1.4826 * np.median(np.abs(flat - np.median(flat)))
    half_period = 0.5 * bls.period_days
    in_transit = np.abs(np.mod(time - bls.t0_days + half_period, bls.period_days) - half_period)
    in_box = in_transit < 0.5 * bls.duration_days
    secondary = np.abs(in_transit - half_period) < 0.5 * bls.duration_days
    epoch = np.round((time - bls.t0_days) / bls.period_days).astype(np.int64)
    odd, even = in_box & (epoch % 2 == 1), in_box & (epoch % 2 == 0)

    def dip(mask: np.ndarray) -> float:
        return float(1.0 - np.median(flat[mask])) if mask.sum() >= 3 else 0.0

    view = folded_view(time, flat, bls.period_days, bls.t0_days, VIEW_BINS)
    ls_view = folded_view(time, norm, ls_period, float(time[0]), LS_VIEW_BINS)
    return {
        "bls_period_days": bls.period_days,
        "bls_duration_days": bls.duration_days,
        "bls_depth": bls.depth,
        "bls_sde": bls.sde,
        "bls_snr": bls.depth / max(noise, 1e-12) * np.sqrt(max(in_box.sum(), 1)),
        "secondary_depth": dip(secondary),
        "odd_even_diff": abs(dip(odd) - dip(even)),
        "ls_period_days": ls_period,
        "ls_power": ls_power,
        "norm_std": float(np.std(norm)),
        "flat_std": float(np.std(flat)),
        "noise_mad": float(noise),
        "bls_view": (view / max(noise, 1e-12)).astype(np.float32),
        "ls_view": (ls_view / max(float(np.std(norm)), 1e-12)).astype(np.float32),
    }
