"""Light-curve preprocessing: quality mask, robust detrending (numba biweight), normalisation."""

from __future__ import annotations

import numpy as np
from numba import njit

# lightkurve's "default" Kepler bitmask (AttitudeTweak|SafeMode|CoarsePoint|EarthPoint|Desat|
# ManualExclude|DetectorAnomaly|NoData|ThrusterFiring) plus ApertureCosmic (128) and
# ImpulsiveOutlier (2048), which flag single-cadence outliers we would otherwise clip.
DEFAULT_QUALITY_BITMASK = 1130799 | 128 | 2048
DEFAULT_WINDOW_DAYS = 0.75
# A break in the cadences longer than this is a data gap (downlink, safe mode), after which the
# photometer settles thermally for a day or so; PDC removes only part of that ramp.
GAP_DAYS = 0.5
SETTLE_DAYS = 0.5  # cadences this close after the start or a gap are dropped
RAMP_TIMESCALES_DAYS = (0.3, 1.0, 3.0)  # exponential ramps fitted after each gap for the periodogram flux


def quality_mask(time: np.ndarray, flux: np.ndarray, quality: np.ndarray, bitmask: int) -> np.ndarray:
    """Cadences to keep: finite time and flux, none of ``bitmask`` set. Shape (n,), bool."""
    return np.isfinite(time) & np.isfinite(flux) & ((quality & bitmask) == 0)


@njit(cache=True)
def _insert_sorted(buf: np.ndarray, size: int, value: float) -> None:
    position = np.searchsorted(buf[:size], value)
    buf[position + 1 : size + 1] = buf[position:size].copy()
    buf[position] = value


@njit(cache=True)
def _remove_sorted(buf: np.ndarray, size: int, value: float) -> None:
    position = np.searchsorted(buf[:size], value)
    buf[position : size - 1] = buf[position + 1 : size].copy()


@njit(cache=True)
def _median_and_mad(buf: np.ndarray, size: int) -> tuple[float, float]:
    """Median and median absolute deviation of the sorted ``buf[:size]`` in O(size).

    The distances to the median grow outwards on both sides of it, so the k-th smallest
    distance comes from merging the two sides (upper median for even sizes).
    """
    half = size // 2
    median = buf[half] if size % 2 else 0.5 * (buf[half - 1] + buf[half])
    right = np.searchsorted(buf[:size], median)
    left = right - 1
    distance = 0.0
    for _ in range(half + 1):
        if left >= 0 and (right >= size or median - buf[left] <= buf[right] - median):
            distance = median - buf[left]
            left -= 1
        else:
            distance = buf[right] - median
            right += 1
    return median, distance


@njit(cache=True)
def biweight_trend(
    time: np.ndarray, flux: np.ndarray, window: float, c: float = 5.0, n_iter: int = 3
) -> np.ndarray:
    """Time-windowed Tukey biweight location at every cadence (wotan's estimator); shape (n,).

    ``time`` must be sorted and finite. The window slides with two pointers and keeps a
    sorted copy of its values, so median and MAD cost O(points per window) per cadence;
    the biweight iterations start at the median with the MAD scale held fixed. Outliers
    and transits shorter than ~window/3 barely move the location, unlike a mean or a
    polynomial.
    """
    n = time.size
    trend = np.empty(n)
    buf = np.empty(n)
    size = 0
    lo = 0
    hi = 0
    half = 0.5 * window
    for i in range(n):
        while hi < n and time[hi] <= time[i] + half:
            _insert_sorted(buf, size, flux[hi])
            size += 1
            hi += 1
        while time[lo] < time[i] - half:
            _remove_sorted(buf, size, flux[lo])
            size -= 1
            lo += 1
        location, mad = _median_and_mad(buf, size)
        if mad > 0.0:
            scale = c * mad
            for _ in range(n_iter):
                num = 0.0
                den = 0.0
                for j in range(lo, hi):
                    u = (flux[j] - location) / scale
                    if abs(u) < 1.0:
                        w = (1.0 - u * u) ** 2
                        num += w * (flux[j] - location)
                        den += w
                if den == 0.0:
                    break
                location += num / den
        trend[i] = location
    return trend


def detrend(
    time: np.ndarray, flux: np.ndarray, window_days: float = DEFAULT_WINDOW_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """(flattened relative flux ~1, trend in input units); inputs sorted, finite, shape (n,)."""
    trend = biweight_trend(time.astype(np.float64), flux.astype(np.float64), float(window_days))
    return flux / trend, trend


def clip_outliers(flat: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """Keep-mask dropping only upward outliers (cosmic rays); dips are the signal. Shape (n,)."""
    resid = flat - np.median(flat)
    mad = 1.4826 * np.median(np.abs(resid))
    return resid < sigma * max(mad, 1e-12)


def segment_starts(time: np.ndarray, gap_days: float = GAP_DAYS) -> np.ndarray:
    """Times (days) at which the data resume: the first cadence and the first after each gap."""
    breaks = np.flatnonzero(np.diff(time) > gap_days) + 1
    return time[np.concatenate([[0], breaks])]


def settled(time: np.ndarray, settle_days: float = SETTLE_DAYS, gap_days: float = GAP_DAYS) -> np.ndarray:
    """Keep-mask without the first ``settle_days`` after the start and after each gap; sorted time, (n,)."""
    starts = segment_starts(time, gap_days)
    since = time - starts[np.searchsorted(starts, time, side="right") - 1]
    return since >= settle_days


def systematics_basis(time: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Design matrix (n, 3 + 3 * len(starts)): a quadratic in time and exponential ramps after each start.

    The quadratic takes the slow drift PDC leaves (velocity aberration, focus); the ramps the
    thermal settling after each gap, at RAMP_TIMESCALES_DAYS. The price: near each gap the ramps
    also take part of a slow stellar signal (15 % of a 3-day and 30 % of a 12-day sinusoid's rms
    over a quarter with one gap), which lowers its amplitude but leaves its period, where left
    in, residual ramps after the monthly downlinks put 8-30 day peaks in quiet stars' periodograms.
    """
    x = (time - time.mean()) / max(float(np.ptp(time)), 1e-9)
    columns = [np.ones_like(x), x, x**2]
    for start in starts:
        after = time >= start
        for timescale in RAMP_TIMESCALES_DAYS:
            columns.append(np.where(after, np.exp(-np.clip(time - start, 0.0, None) / timescale), 0.0))
    return np.column_stack(columns)


def systematics_normalise(time: np.ndarray, flux: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Flux / (least-squares fit of :func:`systematics_basis`): relative flux ~1 keeping variability."""
    basis = systematics_basis(time, starts)
    coefficients, *_ = np.linalg.lstsq(basis, flux, rcond=None)
    return flux / (basis @ coefficients)


def prepare(
    time: np.ndarray,
    flux: np.ndarray,
    quality: np.ndarray,
    bitmask: int = DEFAULT_QUALITY_BITMASK,
    window_days: float = DEFAULT_WINDOW_DAYS,
) -> dict[str, np.ndarray]:
    """Quality-mask, sort, drop settling cadences, detrend, clip.

    Returns time, flat (biweight-detrended, for transits and eclipses) and norm (instrument
    drift and post-gap ramps divided out, variability kept, for the periodogram) flux.
    """
    keep = quality_mask(time, flux, quality, bitmask)
    order = np.argsort(time[keep])
    t, f = time[keep][order], flux[keep][order]
    starts = segment_starts(t)
    calm = settled(t)
    if calm.sum() < 100:
        raise ValueError(f"only {int(calm.sum())} usable cadences after the quality mask and settling")
    if np.ptp(f[calm]) == 0.0:
        # No star gives the same count in every cadence (photon noise alone varies it); a constant
        # series is a fill value or a broken export, and its features would all look "quiet".
        raise ValueError(
            f"constant flux ({f[calm][0]:g} in all {int(calm.sum())} usable cadences): not a light curve"
        )
    t, f = t[calm], f[calm]
    flat, _ = detrend(t, f, window_days)
    ok = clip_outliers(flat)
    return {"time": t[ok], "flat": flat[ok], "norm": systematics_normalise(t[ok], f[ok], starts)}
