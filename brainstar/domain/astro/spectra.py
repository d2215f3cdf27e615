"""Spectrum preprocessing: mask, resample to a common log-wavelength grid, continuum-normalise."""

from __future__ import annotations

import numpy as np

# Common grid: log10(lambda/A) 3.5820-3.9600 in steps of 2e-4 (two native SDSS pixels, ~138 km/s).
GRID_LOGLAM0 = 3.5820
GRID_DLOGLAM = 2e-4
GRID_NPIX = 1891
# and_mask bits that make a pixel unusable (SDSS spPlate bits): FULLREJECT, NOSKY, BRIGHTSKY.
BAD_PIXEL_BITS = (1 << 18) | (1 << 22) | (1 << 23)
CONTINUUM_DEGREE = 7
# Resolution. SDSS's COADD wdisp is the line-spread function's Gaussian sigma in native pixels
# (1e-4 dex, 69 km/s): 0.9-1.3 on good plates. Every spectrum is degraded to TARGET_WDISP before
# resampling, so the models see one resolution whatever the plate's: the target sits at the worst
# resolution accepted (a spectrum with a larger wdisp is used as it is, and flagged).
NOMINAL_WDISP = 1.1  # assumed for a file without a wdisp column
TARGET_WDISP = 2.5  # R = lambda / (2.355 sigma) ~ 730 after degradation (~1700 native)


def common_grid() -> np.ndarray:
    """Shape (GRID_NPIX,), log10(Angstrom)."""
    return GRID_LOGLAM0 + GRID_DLOGLAM * np.arange(GRID_NPIX)


def good_pixels(flux: np.ndarray, ivar: np.ndarray, and_mask: np.ndarray) -> np.ndarray:
    """Usable pixels: finite flux, ivar > 0 and none of BAD_PIXEL_BITS set."""
    return np.isfinite(flux) & np.isfinite(ivar) & (ivar > 0) & ((and_mask & BAD_PIXEL_BITS) == 0)


def resample(
    loglam: np.ndarray, flux: np.ndarray, ivar: np.ndarray, good: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-variance-weighted rebinning onto the common grid -> (flux, ivar), each (GRID_NPIX,).

    Each input pixel shares its weight between the two grid pixels around it, linearly in
    its position (cloud-in-cell): a rest-frame shift by a fraction of a pixel then moves
    the output smoothly instead of jumping whole pixels, as nearest-pixel binning would.
    Grid pixels without a good input pixel get ivar 0 and a linearly interpolated flux,
    so downstream arrays have no NaN but the weights say which pixels carry information.
    """
    # Rounded to 1e-6 pixel: a pixel on a grid point must not leak float dust into its neighbour.
    position = np.round((loglam - GRID_LOGLAM0) / GRID_DLOGLAM, 6)
    lower = np.floor(position).astype(np.int64)
    upper_share = position - lower
    weights = np.zeros(GRID_NPIX)
    sums = np.zeros(GRID_NPIX)
    for index, share in ((lower, 1.0 - upper_share), (lower + 1, upper_share)):
        inside = good & (index >= 0) & (index < GRID_NPIX)
        weights += np.bincount(index[inside], share[inside] * ivar[inside], GRID_NPIX)
        sums += np.bincount(index[inside], share[inside] * ivar[inside] * flux[inside], GRID_NPIX)
    covered = weights > 0
    if covered.sum() < GRID_NPIX // 2:
        raise ValueError(f"only {int(covered.sum())} of {GRID_NPIX} grid pixels have good data")
    out = np.empty(GRID_NPIX)
    out[covered] = sums[covered] / weights[covered]
    grid = np.arange(GRID_NPIX)
    out[~covered] = np.interp(grid[~covered], grid[covered], out[covered])
    return out, weights


def continuum(flux: np.ndarray, ivar: np.ndarray, n_iter: int = 6) -> np.ndarray:
    """Smooth upper envelope: polynomial in log-lambda, refit without pixels well below it.

    Absorption lines only ever lie below the continuum, so the clipping is asymmetric.
    """
    basis = np.polynomial.chebyshev.chebvander(np.linspace(-1.0, 1.0, flux.size), CONTINUUM_DEGREE)
    use = ivar > 0
    fit = np.full(flux.size, np.median(flux[use]))
    for _ in range(n_iter):
        # Weighted normal equations with einsum: lstsq on this 1891 x 8 problem hands off to a
        # threaded LAPACK and took 40 ms per call on a busy 2-core machine; this takes ~0.1 ms.
        weights = np.where(use, ivar, 0.0)
        gram = np.einsum("pi,p,pj->ij", basis, weights, basis)
        rhs = np.einsum("pi,p->i", basis, weights * flux)
        fit = basis @ np.linalg.solve(gram, rhs)
        resid = (flux - fit) * np.sqrt(ivar)
        use = (ivar > 0) & (resid > -1.5)
    return np.clip(fit, 1e-6 * np.abs(fit).max(), None)


def usable_wdisp(wdisp: np.ndarray | None, size: int) -> np.ndarray:
    """Per-pixel LSF sigma (native pixels), shape (size,): NOMINAL_WDISP without a column; pixels
    where the pipeline wrote 0 or nothing finite (masked ones) take the median of the others."""
    if wdisp is None:
        return np.full(size, NOMINAL_WDISP)
    values = np.asarray(wdisp, dtype=np.float64)
    valid = np.isfinite(values) & (values > 0)
    if not valid.any():
        return np.full(size, NOMINAL_WDISP)
    return np.where(valid, values, float(np.median(values[valid])))


def degrade_to_target(flux: np.ndarray, good: np.ndarray, wdisp: np.ndarray) -> np.ndarray:
    """``flux`` convolved to an LSF sigma of TARGET_WDISP native pixels, shape like ``flux``.

    Each pixel is smoothed by a Gaussian of sqrt(TARGET_WDISP^2 - wdisp^2) pixels (Gaussians add in
    quadrature); pixels already at or beyond the target are left as they are. Bad pixels carry no
    weight and the kernel is renormalised over the good ones. The ivar is left at its native value
    by the caller: smoothing correlates neighbours, it adds no information.
    """
    extra = np.sqrt(np.clip(TARGET_WDISP**2 - wdisp**2, 0.0, None))
    half = int(np.ceil(4.0 * extra.max()))
    if half == 0:
        return flux
    offsets = np.arange(-half, half + 1)[:, None]
    kernel = np.exp(-0.5 * offsets**2 / np.maximum(extra, 1e-6) ** 2)  # (2 half + 1, n): per output pixel
    padded_flux = np.pad(np.where(good, flux, 0.0), half)
    padded_good = np.pad(good.astype(np.float64), half)
    n = flux.size
    shifted_flux = np.stack([padded_flux[half + k : half + k + n] for k in offsets[:, 0]])
    shifted_good = np.stack([padded_good[half + k : half + k + n] for k in offsets[:, 0]])
    weight = np.sum(kernel * shifted_good, axis=0)
    smoothed = np.sum(kernel * shifted_good * shifted_flux, axis=0) / np.where(weight > 0, weight, 1.0)
    return np.where(weight > 0, smoothed, flux)


def preprocess(
    loglam: np.ndarray,
    flux: np.ndarray,
    ivar: np.ndarray,
    and_mask: np.ndarray,
    rv_kms: float = 0.0,
    wdisp: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """(normalised flux, its ivar, median S/N per grid pixel) in the rest frame of ``rv_kms``.

    Arrays (GRID_NPIX,) on the common rest-frame grid, flux ~1 in the continuum, at the resolution
    TARGET_WDISP (``wdisp``: the file's per-pixel LSF sigma; None: NOMINAL_WDISP assumed).
    """
    good = good_pixels(flux, ivar, and_mask)
    smoothed = degrade_to_target(flux, good, usable_wdisp(wdisp, flux.size))
    grid_flux, grid_ivar = resample(to_rest_frame(loglam, rv_kms), smoothed, ivar, good)
    cont = continuum(grid_flux, grid_ivar)
    norm = grid_flux / cont
    norm_ivar = grid_ivar * cont**2
    snr = float(np.median(np.sqrt(norm_ivar[norm_ivar > 0]) * norm[norm_ivar > 0]))
    # Pixels with no data carry no information: put them at the continuum, not at an interpolated guess.
    norm[grid_ivar == 0] = 1.0
    return norm.astype(np.float32), norm_ivar.astype(np.float32), snr


# ---- Radial velocity and the rest frame -------------------------------------------------

C_KMS = 299_792.458
DEFAULT_VELOCITY_LIMIT_KMS = 1000.0  # beyond any bound Galactic star (escape speed ~550 km/s)
CCF_MAX_KMS = 100_000.0  # cross-correlation search range: galaxies to z ~ 0.3 show up as such
# Below this peak correlation a spectrum shows no stellar absorption-line pattern: demo stars
# (M to A) at S/N 10 reach 0.13 at worst (median 0.52); pure noise gives ~0.05.
CCF_MIN_PEAK = 0.1
# Running-mean window (native pixels, ~2800 km/s) removed before correlating: 101 pixels left
# M dwarfs' TiO band heads to pull the peak tens of thousands of km/s away.
CCF_LEVEL_PIXELS = 41
# Strong absorption features of A-M stars at SDSS resolution, vacuum rest wavelengths (A) from
# the NIST atomic spectra database, with a Gaussian sigma (A) of their blended profile at R~1800
# and a relative weight. Only the positions set the velocity; widths and weights shape the CCF.
TEMPLATE_LINES: tuple[tuple[float, float, float], ...] = (
    (3934.78, 3.0, 1.0),  # Ca II K
    (3969.59, 3.0, 0.8),  # Ca II H
    (4102.89, 3.5, 0.6),  # H delta
    (4227.92, 1.6, 0.4),  # Ca I
    (4341.68, 3.5, 0.6),  # H gamma
    (4862.68, 4.0, 0.7),  # H beta
    (5168.76, 1.5, 0.4),  # Mg b
    (5174.13, 1.5, 0.5),  # Mg b
    (5185.05, 1.5, 0.5),  # Mg b
    (5270.39, 1.4, 0.3),  # Fe I / Ca I blend
    (5891.58, 1.8, 0.6),  # Na D2
    (5897.56, 1.8, 0.5),  # Na D1
    (6564.61, 4.0, 0.8),  # H alpha
    (7667.01, 2.0, 0.4),  # K I (cool dwarfs)
    (7701.08, 2.0, 0.3),  # K I
    (8500.36, 2.5, 0.5),  # Ca II triplet
    (8544.44, 2.5, 0.7),
    (8664.52, 2.5, 0.6),
)


# A-type stars: the Balmer series down to H9 (H epsilon, not Ca II H, is their line at 3970 A),
# Ca II K, Mg II 4481. The general template's Ca II H pulls their velocity by +30 km/s.
HOT_TEMPLATE_LINES: tuple[tuple[float, float, float], ...] = (
    (3836.47, 3.0, 0.4),  # H9
    (3890.16, 3.0, 0.5),  # H8
    (3934.78, 1.5, 0.3),  # Ca II K
    (3971.20, 3.5, 0.6),  # H epsilon
    (4102.89, 4.0, 0.7),  # H delta
    (4341.68, 4.0, 0.7),  # H gamma
    (4482.4, 1.5, 0.2),  # Mg II
    (4862.68, 4.5, 0.8),  # H beta
    (6564.61, 5.0, 0.8),  # H alpha
)


HOT_TEMPLATE_MAX_KMS = 2.0 * DEFAULT_VELOCITY_LIMIT_KMS


def velocity_from_z(z: float) -> float:
    """Line-of-sight velocity (km/s) of a catalogue redshift, v = c z as SDSS quotes stellar RVs."""
    return float(C_KMS * z)


def to_rest_frame(loglam: np.ndarray, rv_kms: float) -> np.ndarray:
    """Observed log10 wavelengths -> rest frame: lambda / (1 + z) with z = v / c."""
    return loglam - np.log10(1.0 + rv_kms / C_KMS)


def absorption_template(
    loglam: np.ndarray, lines: tuple[tuple[float, float, float], ...] = TEMPLATE_LINES
) -> np.ndarray:
    """Line depth (0 = continuum) of ``lines`` at rest, on ``loglam``; shape like ``loglam``."""
    wave = 10.0**loglam
    depth = np.zeros_like(wave)
    for center, sigma, weight in lines:
        near = np.abs(wave - center) < 6 * sigma
        depth[near] += weight * np.exp(-0.5 * ((wave[near] - center) / sigma) ** 2)
    return depth


def _uniform_log_grid(loglam: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """``arrays`` on an evenly spaced log grid (the SDSS coadd grid already is one)."""
    step = float(np.median(np.diff(loglam)))
    grid = loglam[0] + step * np.arange(round((loglam[-1] - loglam[0]) / step) + 1)
    if grid.size == loglam.size and np.allclose(grid, loglam, rtol=0, atol=0.05 * step):
        return grid, list(arrays)
    return grid, [np.interp(grid, loglam, a) for a in arrays]


def _local_level(depth: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Running mean of ``depth`` over CCF_LEVEL_PIXELS used pixels, shape like ``depth``.

    Subtracted before correlating: a broad depression (molecular bands, the blanketed blue end
    of a cool spectrum the continuum fit cannot follow) would otherwise correlate with any line
    of the template placed on it, at whatever lag puts the most lines there.
    """
    box = np.ones(CCF_LEVEL_PIXELS)
    total = np.convolve(np.where(used, depth, 0.0), box, mode="same")
    count = np.convolve(used.astype(np.float64), box, mode="same")
    return total / np.maximum(count, 1.0)


def _parabola_offset(values: np.ndarray, peak: int) -> float:
    """Sub-sample offset (-0.5..0.5) of the maximum of a parabola through ``values[peak-1:peak+2]``."""
    if not 0 < peak < values.size - 1:
        return 0.0
    left, centre, right = values[peak - 1 : peak + 2]
    curvature = left - 2 * centre + right
    return float(0.5 * (left - right) / curvature) if curvature < 0 else 0.0


def cross_correlation_velocity(
    loglam: np.ndarray,
    flux: np.ndarray,
    ivar: np.ndarray,
    and_mask: np.ndarray,
    max_kms: float = CCF_MAX_KMS,
) -> tuple[float, float]:
    """(v in km/s, peak correlation coefficient) of the spectrum against :func:`absorption_template`.

    On a log-lambda grid a Doppler shift is a shift by log10(1 + v/c) / dloglam pixels, so
    the cross-correlation is a sum over integer lags (computed by FFT); a parabola through
    the peak and its neighbours gives the sub-pixel lag. The search reaches +-``max_kms``,
    far beyond any star, so a galaxy's absorption lines are found where they are instead of
    a spurious peak being found near zero.
    """
    good = good_pixels(flux, ivar, and_mask)
    if good.sum() < 100:
        raise ValueError(f"only {int(good.sum())} good pixels: too few for a cross-correlation velocity")
    cont = continuum(np.where(good, flux, 0.0), np.where(good, ivar, 0.0))
    depth = np.where(good, np.clip(1.0 - flux / cont, -1.0, 1.5), 0.0)
    # Inverse-variance weights of the normalised flux (a matched filter): noisy pixels count less.
    weight = np.where(good, ivar * cont**2, 0.0)
    grid, (depth, weight) = _uniform_log_grid(loglam, depth, weight)
    step = float(grid[1] - grid[0])
    used = weight > 0
    weight = weight / weight[used].mean()
    signal = np.where(used, (depth - _local_level(depth, used)) * weight, 0.0)
    # The template that correlates best gives the velocity (correlations are normalised, so their
    # peaks compare): TEMPLATE_LINES over the whole range, HOT_TEMPLATE_LINES only within
    # HOT_TEMPLATE_MAX_KMS, where A stars are (far off, its few broad lines fit band heads of M dwarfs).
    found = [
        _correlate(signal, absorption_template(grid, lines), _max_lag(reach, step, grid.size))
        for lines, reach in (
            (TEMPLATE_LINES, max_kms),
            (HOT_TEMPLATE_LINES, min(max_kms, HOT_TEMPLATE_MAX_KMS)),
        )
    ]
    lag, peak = max(found, key=lambda result: result[1])
    return float(C_KMS * (10.0 ** (lag * step) - 1.0)), peak


def _max_lag(reach_kms: float, step: float, n: int) -> int:
    return min(int(np.ceil(np.log10(1.0 + reach_kms / C_KMS) / step)), n - 1)


def _correlate(signal: np.ndarray, template: np.ndarray, max_lag: int) -> tuple[float, float]:
    """(lag in pixels, with its parabola refinement; peak correlation coefficient) of ``signal``
    against ``template`` over +-``max_lag`` pixels."""
    template = template - template.mean()
    size = 2 * signal.size  # zero padding: no wrap-around between the ends
    # ccf[lag] = sum_i signal[i] * template[i - lag]: the rest template shifted by ``lag`` pixels.
    full = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(template, size)), size)
    lags = np.arange(-max_lag, max_lag + 1)
    ccf = full[lags % size]
    peak = int(np.argmax(ccf))
    norm = float(np.sqrt((signal @ signal) * (template @ template)))
    return lags[peak] + _parabola_offset(ccf, peak), float(ccf[peak] / norm) if norm > 0 else 0.0
