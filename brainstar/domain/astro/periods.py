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
# From just above the Kepler long-cadence Nyquist period (2 x 29.4 min = 0.0409 d: delta Scuti
# modes) to a third of a quarter (slow rotators: three cycles at least).
LS_PERIOD_RANGE_DAYS = (0.042, 30.0)
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


def lomb_scargle_power(time: np.ndarray, flux: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in 1/day, normalised power) over LS_PERIOD_RANGE_DAYS, LS_SAMPLES_PER_PEAK grid."""
    f_min, f_max = 1.0 / LS_PERIOD_RANGE_DAYS[1], 1.0 / LS_PERIOD_RANGE_DAYS[0]
    frequency = np.arange(f_min, f_max, 1.0 / (LS_SAMPLES_PER_PEAK * np.ptp(time)))
    return frequency, LombScargle(time, flux).power(frequency, method="fast")


def lomb_scargle(time: np.ndarray, flux: np.ndarray) -> tuple[float, float]:
    """(best period in days, normalised power) over LS_PERIOD_RANGE_DAYS.

    The coarse grid (LS_SAMPLES_PER_PEAK per peak width) finds the peak; a grid 20 times finer
    around it places it. At a 20-day period one coarse step is 6 % of the period, more than
    the 2 % a period has to be within to count as recovered.
    """
    frequency, power = lomb_scargle_power(time, flux)
    best = int(np.argmax(power))
    step = frequency[1] - frequency[0] if frequency.size > 1 else frequency[0]
    fine = frequency[best] + step * np.linspace(-1.0, 1.0, 41)
    fine = fine[(fine >= 1.0 / LS_PERIOD_RANGE_DAYS[1]) & (fine <= 1.0 / LS_PERIOD_RANGE_DAYS[0])]
    fine_power = LombScargle(time, flux).power(fine, method="cython")
    top = int(np.argmax(fine_power))
    return float(1.0 / fine[top]), float(fine_power[top])


def folded_view(time: np.ndarray, flux: np.ndarray, period: float, t0: float, n_bins: int) -> np.ndarray:
    """Median flux - 1 in ``n_bins`` phase bins centred on ``t0`` (phase -0.5..0.5); shape (n_bins,)."""
    phase = np.mod(time - t0 + 0.5 * period, period) / period
    index = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    sums = np.bincount(index, flux - 1.0, n_bins)
    counts = np.bincount(index, None, n_bins)
    view = np.zeros(n_bins)
    np.divide(sums, counts, out=view, where=counts > 0)
    return view


def fold_model(time: np.ndarray, flux: np.ndarray, period: float, n_bins: int) -> np.ndarray:
    """Each cadence's phase-bin mean of ``flux`` folded at ``period``: the strictly periodic part, (n,)."""
    phase = np.mod(time - time[0], period) / period
    index = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(index, None, n_bins)
    means = np.bincount(index, flux, n_bins) / np.maximum(counts, 1)
    return means[index]


def coherence(time: np.ndarray, flux: np.ndarray, period: float, n_bins: int = LS_VIEW_BINS) -> float:
    """Share of the flux variance a fold at ``period`` explains (1: strictly periodic, ~0: none)."""
    centred = flux - flux.mean()
    total = float(np.sum(centred**2))
    resid = centred - fold_model(time, centred, period, n_bins)
    return 1.0 - float(np.sum(resid**2)) / max(total, 1e-30)


def half_difference(time: np.ndarray, flux: np.ndarray, period: float, t0: float) -> float:
    """RMS difference between the two halves of a fold at twice ``period``, over the fold's RMS.

    Folded at twice a pulsation period both halves repeat the same cycle (~0); a binary found at
    half its orbit shows unequal minima (primary and secondary eclipse) or maxima.
    """
    view = folded_view(time, flux, 2.0 * period, t0, 2 * LS_VIEW_BINS)
    first, second = view[:LS_VIEW_BINS], view[LS_VIEW_BINS:]
    return float(np.sqrt(np.mean((first - second) ** 2)) / max(float(np.sqrt(np.mean(view**2))), 1e-12))


def binned_excess(time: np.ndarray, flux: np.ndarray, noise: float, bin_days: float = 0.5) -> float:
    """Scatter of ``bin_days`` means over what white noise of ``noise`` per cadence would give.

    ~1 for a star without variability on day scales; spots, pulsations and eclipses raise it.
    """
    index = np.floor((time - time[0]) / bin_days).astype(np.int64)
    counts = np.bincount(index)
    full = counts >= 5
    if full.sum() < 3:
        return 1.0
    means = np.bincount(index, flux)[full] / counts[full]
    expected = noise / np.sqrt(np.mean(counts[full]))
    return float(np.std(means) / max(expected, 1e-12))


def skewness(values: np.ndarray) -> float:
    """Sample skewness: eclipses and spots skew the flux low, RRab pulsations high."""
    centred = values - values.mean()
    return float(np.mean(centred**3) / max(float(np.mean(centred**2)) ** 1.5, 1e-30))


def _ls_features(time: np.ndarray, norm: np.ndarray) -> dict[str, object]:
    """Periodogram features on the normalised flux: the best period, how coherent it is, a second one.

    The second period is searched after subtracting the fold at the first (all its harmonics):
    strong in multi-periodic delta Scuti stars and evolving spots, weak in binaries and RR Lyrae.
    """
    period, power = lomb_scargle(time, norm)
    prewhitened = norm - fold_model(time, norm - norm.mean(), period, LS_VIEW_BINS)
    second_period, second_power = lomb_scargle(time, prewhitened)
    t0 = float(time[0])
    view = folded_view(time, norm, period, t0, LS_VIEW_BINS)
    # Phase the views at the fold's minimum, so that the same shape gives the same vector.
    t0 += ((int(np.argmin(view)) + 0.5) / LS_VIEW_BINS - 0.5) * period
    view = folded_view(time, norm, period, t0, LS_VIEW_BINS)
    return {
        "ls_period_days": period,
        "ls_power": power,
        "ls_coherence": coherence(time, norm, period),
        "ls2_coherence": coherence(time, norm, 2.0 * period, 2 * LS_VIEW_BINS),
        "ls_half_difference": half_difference(time, norm, period, t0),
        "ls_second_power": second_power,
        "ls_second_ratio": second_period / period,
        "norm_skew": skewness(norm),
        "ls_view": (view / max(float(np.std(norm)), 1e-12)).astype(np.float32),
    }


def lightcurve_features(time: np.ndarray, flat: np.ndarray, norm: np.ndarray) -> dict[str, object]:
    """Scalar features and folded views of one prepared light curve (see lightcurves.prepare)."""
    bls = bls_search(time, flat)
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
    return {
        "bls_period_days": bls.period_days,
        "bls_duration_days": bls.duration_days,
        "bls_depth": bls.depth,
        "bls_sde": bls.sde,
        "bls_snr": bls.depth / max(noise, 1e-12) * np.sqrt(max(in_box.sum(), 1)),
        "secondary_depth": dip(secondary),
        "odd_even_diff": abs(dip(odd) - dip(even)),
        "secondary_snr": dip(secondary) / max(noise, 1e-12) * np.sqrt(max(secondary.sum(), 1)),
        "binned_excess": binned_excess(time, norm, noise),
        "norm_std": float(np.std(norm)),
        "flat_std": float(np.std(flat)),
        "noise_mad": float(noise),
        "bls_view": (view / max(noise, 1e-12)).astype(np.float32),
        **_ls_features(time, norm),
    }
