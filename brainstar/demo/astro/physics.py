"""Forward models the demo writers draw from, with known truth: spectra and photometry.

Stellar parameters and spectra come from :mod:`brainstar.demo.astro.stellar_spectra` (an
SDSS-like M to A population; Saha-Boltzmann line strengths over H- and hydrogen opacity,
Voigt profiles, molecular bands, a Gaussian line-spread function); Gaia colours follow a
colour-Teff relation and are reddened along the line of sight; absolute magnitudes follow
the main sequence or, for giants and horizontal-branch stars, L = 4 pi R^2 sigma T^4 with
R^2 = G M / g.
"""

from __future__ import annotations

import numpy as np

from brainstar.demo.astro.stellar_spectra import (
    C_KMS,
    StellarParams,
    draw_stellar_params,
    model_spectrum,
)

__all__ = ["C_KMS", "StellarParams", "draw_stellar_params", "model_spectrum"]

# SDSS legacy coadd grid: log10(lambda/Angstrom) from 3.5800 in steps of 1e-4 (3802-9204 A).
SDSS_LOGLAM0 = 3.5800
SDSS_DLOGLAM = 1e-4
SDSS_NPIX = 3841
# Kepler long cadence (TIMEDEL in the real headers) and one quarter's length.
KEPLER_CADENCE_DAYS = 0.02043359821692
KEPLER_N_CADENCES = 4354


def sdss_loglam() -> np.ndarray:
    """The native SDSS coadd grid, shape (SDSS_NPIX,), log10(Angstrom)."""
    return SDSS_LOGLAM0 + SDSS_DLOGLAM * np.arange(SDSS_NPIX)


# MK classes by Teff (lower bound K, letter, upper bound K) for the SUBCLASS column of SPECOBJ.
SPECTRAL_CLASSES = (
    (7300.0, "A", 10000.0),
    (6000.0, "F", 7300.0),
    (5300.0, "G", 6000.0),
    (3900.0, "K", 5300.0),
    (2400.0, "M", 3900.0),
)


def spectral_type(teff_k: float) -> str:
    """A coarse MK subclass string from Teff (SUBCLASS column of SPECOBJ): A0 at 10000 K to M."""
    for lower, letter, upper in SPECTRAL_CLASSES:
        if teff_k >= lower:
            sub = int(np.clip(10.0 * (upper - teff_k) / (upper - lower), 0, 9))
            return f"{letter}{sub}"
    return "M9"


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


# Andrae et al. (2018, A&A 616, A8) bolometric correction of Gaia G: polynomial in Teff - 5772 K,
# for 4000-8000 K and for 3300-4000 K; hotter stars take the 8000 K value (BC_G ~ 0 for A stars).
BC_G_WARM = (6.000e-02, 6.731e-05, -6.647e-08, 2.859e-11, -7.197e-15)
BC_G_COOL = (1.749e00, 1.977e-03, 3.737e-07, -8.966e-11, -4.183e-14)
M_BOL_SUN = 4.74
GIANT_MASS_MSUN = 1.0  # red giants of the old disc and halo
HORIZONTAL_BRANCH_MASS_MSUN = 0.6


def bolometric_correction_g(teff_k: float) -> float:
    """BC_G (mag) of Andrae et al. 2018 at ``teff_k``."""
    coefficients = BC_G_COOL if teff_k < 4000.0 else BC_G_WARM
    x = min(teff_k, 8000.0) - 5772.0
    return float(sum(c * x**i for i, c in enumerate(coefficients)))


def absolute_g(params: StellarParams) -> float:
    """Gaia M_G in mag.

    Dwarfs: the main sequence from Teff. Giants (log g < 3.6) and hot stars above the main
    sequence (horizontal branch: Teff > 7000 K, log g < 3.8): L ~ M T^4 / g, so M_bol =
    M_bol,sun - 2.5 log(M/Msun) + 2.5 (log g - log g_sun) - 10 log(T/T_sun), and M_G = M_bol - BC_G.
    """
    if params.logg_cgs < 3.6 or (params.teff_k > 7000.0 and params.logg_cgs < 3.8):
        mass = HORIZONTAL_BRANCH_MASS_MSUN if params.teff_k > 7000.0 else GIANT_MASS_MSUN
        m_bol = (
            M_BOL_SUN
            - 2.5 * np.log10(mass)
            + 2.5 * (params.logg_cgs - 4.438)
            - 10.0 * np.log10(params.teff_k / 5772.0)
        )
        return float(m_bol - bolometric_correction_g(params.teff_k))
    return float(4.67 - 19.0 * np.log10(params.teff_k / 5772.0) + 0.3 * (4.4 - params.logg_cgs))
