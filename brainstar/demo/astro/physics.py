"""Forward models the demo writers draw from, with known truth: spectra, photometry, light curves.

Simple on purpose, but the dependences a model has to learn are the real ones: Balmer
lines peak in A stars and broaden with surface gravity, metal lines deepen with [Fe/H]
and with falling Teff (and saturate), the Ca triplet is stronger in giants, Mg b in
dwarfs; Gaia colours follow a colour-Teff relation and are reddened along the line of
sight; light curves carry transits, eclipses or pulsations at known periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

C_KMS = 299_792.458
# SDSS legacy coadd grid: log10(lambda/Angstrom) from 3.5800 in steps of 1e-4 (3802-9204 A).
SDSS_LOGLAM0 = 3.5800
SDSS_DLOGLAM = 1e-4
SDSS_NPIX = 3841
# Kepler long cadence (TIMEDEL in the real headers) and one quarter's length.
KEPLER_CADENCE_DAYS = 0.02043359821692
KEPLER_N_CADENCES = 4354

# (vacuum wavelength A, kind, base optical depth, gaussian sigma A)
LINES: tuple[tuple[float, str, float, float], ...] = (
    (6564.6, "balmer", 1.2, 4.0),
    (4862.7, "balmer", 1.4, 4.0),
    (4341.7, "balmer", 1.3, 3.5),
    (4102.9, "balmer", 1.2, 3.5),
    (3934.8, "metal", 3.0, 3.0),
    (3969.6, "metal", 2.5, 3.0),
    (4227.9, "metal", 1.2, 1.6),
    (4300.0, "cool", 0.8, 8.0),
    (4384.8, "metal", 0.6, 1.4),
    (4405.0, "metal", 0.5, 1.4),
    (5168.8, "dwarf", 0.8, 1.5),
    (5174.1, "dwarf", 0.9, 1.5),
    (5185.0, "dwarf", 1.0, 1.5),
    (5270.4, "metal", 0.6, 1.4),
    (5330.0, "metal", 0.3, 1.4),
    (5407.0, "metal", 0.3, 1.4),
    (5891.6, "dwarf", 1.4, 1.8),
    (5897.6, "dwarf", 1.2, 1.8),
    (6564.6, "cool", 0.2, 20.0),
    (7100.0, "cool", 0.9, 40.0),
    (8500.4, "giant", 0.7, 2.5),
    (8544.4, "giant", 1.0, 2.5),
    (8664.5, "giant", 0.9, 2.5),
)


@dataclass(frozen=True)
class StellarParams:
    teff_k: float
    logg_cgs: float
    feh_dex: float


def sdss_loglam() -> np.ndarray:
    """The native SDSS coadd grid, shape (SDSS_NPIX,), log10(Angstrom)."""
    return SDSS_LOGLAM0 + SDSS_DLOGLAM * np.arange(SDSS_NPIX)


def draw_stellar_params(rng: np.random.Generator) -> StellarParams:
    """FGK(A) dwarfs and cool giants: Teff 4000-8000 K, log g 1.5-4.8, [Fe/H] -2.0..+0.4."""
    teff = float(rng.uniform(4000.0, 8000.0))
    giant = teff < 5600.0 and rng.random() < 0.35
    logg = float(rng.uniform(1.5, 3.5) if giant else rng.uniform(3.8, 4.8))
    feh = float(rng.uniform(-2.0, 0.4))
    return StellarParams(teff, logg, feh)


def line_optical_depths(params: StellarParams) -> np.ndarray:
    """Central optical depth of each entry of LINES for a star, shape (len(LINES),)."""
    theta = 5040.0 / params.teff_k
    metals = 10.0 ** (0.9 * params.feh_dex)
    taus = []
    for _, kind, tau0, _ in LINES:
        if kind == "balmer":
            # Hydrogen excitation: grows steeply from K to A stars.
            scale = np.exp(-(((params.teff_k - 9000.0) / 2600.0) ** 2)) * (1.0 + 0.15 * (params.logg_cgs - 4))
        elif kind == "metal":
            scale = metals * theta**4
        elif kind == "cool":
            # Molecular bands (G band, TiO) switch on below ~5000 K.
            scale = (0.4 + 0.6 * metals) / (1.0 + np.exp((params.teff_k - 4700.0) / 250.0))
        elif kind == "dwarf":
            scale = metals * theta**4 * (1.0 + 0.35 * (params.logg_cgs - 3.5))
        else:  # giant: Ca triplet, stronger at low gravity
            scale = (0.3 + 0.7 * metals) * theta**2 * (1.0 + 0.3 * (4.5 - params.logg_cgs))
        taus.append(tau0 * max(scale, 0.0))
    return np.asarray(taus)


def model_spectrum(
    params: StellarParams, loglam: np.ndarray, rv_kms: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free (continuum, normalised absorption) on ``loglam``; both shape (n_pix,).

    The continuum is a Planck curve in F_lambda with an arbitrary scale; the absorption
    is exp(-tau * profile), Doppler shifted by ``rv_kms``.
    """
    wave = 10.0**loglam
    hc_over_k = 1.4388e8  # h c / k in Angstrom K
    planck = wave**-5 / np.expm1(hc_over_k / (wave * params.teff_k))
    continuum = planck / planck.mean()
    shift = 1.0 + rv_kms / C_KMS
    tau = np.zeros_like(wave)
    # Pressure broadening: Balmer wings widen with gravity.
    for (center, kind, _, sigma), depth in zip(LINES, line_optical_depths(params), strict=True):
        width = sigma * (1.0 + 0.35 * (params.logg_cgs - 3.0)) if kind == "balmer" else sigma
        tau += depth * np.exp(-0.5 * ((wave - center * shift) / width) ** 2)
    return continuum, np.exp(-tau)


def spectral_type(teff_k: float) -> str:
    """A coarse MK subclass string from Teff (SUBCLASS column of SPECOBJ)."""
    bounds = ((7300.0, "A"), (6000.0, "F"), (5300.0, "G"), (3900.0, "K"))
    for lower, letter in bounds:
        if teff_k >= lower:
            upper = {"A": 9700.0, "F": 7300.0, "G": 6000.0, "K": 5300.0}[letter]
            sub = int(np.clip(10.0 * (upper - teff_k) / (upper - lower), 0, 9))
            return f"{letter}{sub}"
    return "M0"


# Gaia (BP-RP)_0 - Teff relation for dwarfs:
# theta = b0 + b1 C + b2 C^2 + b3 [Fe/H] + b4 [Fe/H]^2 + b5 [Fe/H] C
# (the functional form of Mucciarelli, Bellazzini & Massari 2021; coefficients of that paper's dwarf fit).
COLOUR_TEFF = (0.4929, 0.5092, -0.0353, 0.0192, -0.0020, -0.0395)
# Extinction in the Gaia bands per magnitude of A_V (solar-type star, R_V = 3.1).
A_G_PER_AV, A_BP_PER_AV, A_RP_PER_AV = 0.789, 1.002, 0.589


def intrinsic_bp_rp(teff_k: float, feh_dex: float) -> float:
    """Invert the colour-Teff relation: (BP-RP)_0 in mag for a given Teff and [Fe/H]."""
    b0, b1, b2, b3, b4, b5 = COLOUR_TEFF
    theta = 5040.0 / teff_k
    a, b, c = b2, b1 + b5 * feh_dex, b0 + b3 * feh_dex + b4 * feh_dex**2 - theta
    disc = b * b - 4 * a * c
    return float((-b + np.sqrt(disc)) / (2 * a))


def absolute_g(params: StellarParams) -> float:
    """Gaia M_G in mag: main sequence from Teff, giants brighter with falling log g."""
    if params.logg_cgs < 3.6:
        return 2.4 * params.logg_cgs - 5.5
    return 4.67 - 19.0 * np.log10(params.teff_k / 5772.0) + 0.3 * (4.4 - params.logg_cgs)


def lightcurve_signal(
    time_days: np.ndarray, kind: str, period_days: float, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, float]]:
    """Relative flux (1 = mean) of one variability class at ``time_days``; returns (signal, truth)."""
    phase = np.mod(time_days - time_days[0] - rng.uniform(0, period_days), period_days) / period_days
    dphase = np.minimum(phase, 1.0 - phase)  # distance to phase 0
    if kind == "transit":
        depth = float(10 ** rng.uniform(-3.0, -1.8))
        duration = float(np.clip(0.54 * (period_days / 365.25) ** (1 / 3) * rng.uniform(0.6, 1.2), 0.05, 0.4))
        half = 0.5 * duration / period_days
        ingress = 0.15 * half
        shape = np.clip((half - dphase) / ingress, 0.0, 1.0)
        return 1.0 - depth * shape, {"depth": depth, "duration_days": duration}
    if kind == "eclipsing_binary":
        depth = float(rng.uniform(0.05, 0.4))
        secondary = float(depth * rng.uniform(0.1, 0.6))
        width = float(rng.uniform(0.03, 0.08))
        dsec = np.abs(phase - 0.5)
        flux = 1.0 - depth * np.exp(-0.5 * (dphase / (width / 2.5)) ** 2)
        flux -= secondary * np.exp(-0.5 * (dsec / (width / 2.5)) ** 2)
        flux -= 0.01 * rng.uniform(0, 1) * np.cos(4 * np.pi * phase)  # ellipsoidal
        return flux, {"depth": depth, "secondary_depth": secondary}
    if kind == "pulsator":
        amp = float(10 ** rng.uniform(-2.7, -1.5))
        flux = 1.0 + amp * np.sin(2 * np.pi * phase) + 0.3 * amp * np.sin(4 * np.pi * phase + 0.7)
        second = period_days * rng.uniform(1.3, 1.9)
        flux += 0.4 * amp * np.sin(2 * np.pi * (time_days - time_days[0]) / second)
        return flux, {"amplitude": amp}
    return np.ones_like(time_days), {}


def draw_period(kind: str, rng: np.random.Generator) -> float:
    """Log-uniform period in days per class (transits 0.8-10 d, EBs 0.6-8 d, pulsators 0.1-3 d)."""
    low, high = {"transit": (0.8, 10.0), "eclipsing_binary": (0.6, 8.0), "pulsator": (0.1, 3.0)}.get(
        kind, (1.0, 1.0)
    )
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def red_noise(n: int, timescale_cadences: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise with the given correlation length (stellar granulation/spots)."""
    phi = np.exp(-1.0 / timescale_cadences)
    white = rng.normal(0.0, np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    out[0] = rng.normal()
    for i in range(1, n):
        out[i] = phi * out[i - 1] + white[i]
    return out
