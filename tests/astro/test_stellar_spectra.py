"""The demo's stellar spectra show the dependences real ones do, and its population is physical."""

from __future__ import annotations

import numpy as np

from brainstar.demo.astro import physics, stellar_spectra
from brainstar.demo.astro.stellar_spectra import StellarParams

LOGLAM = physics.sdss_loglam()


def _equivalent_width(params: StellarParams, low: float, high: float, wdisp: float = 1.1) -> float:
    """Absorbed area (A) between ``low`` and ``high`` A of the noise-free normalised spectrum."""
    _, absorption = stellar_spectra.model_spectrum(params, LOGLAM, 0.0, wdisp)
    wave = 10.0**LOGLAM
    band = (wave > low) & (wave < high)
    return float(np.sum((1.0 - absorption[band]) * np.gradient(wave)[band]))


def test_balmer_lines_peak_near_a0_and_their_wings_grow_with_gravity() -> None:
    h_beta = {t: _equivalent_width(StellarParams(t, 4.2, 0.0), 4800.0, 4925.0) for t in (5800, 7000, 9700)}
    assert h_beta[5800] < h_beta[7000] < h_beta[9700]
    hot_giant = _equivalent_width(StellarParams(9700.0, 3.2, 0.0), 4800.0, 4925.0)
    cooler_giant = _equivalent_width(StellarParams(9200.0, 3.2, 0.0), 4800.0, 4925.0)
    assert hot_giant < h_beta[9700]  # Stark wings: weaker at low gravity
    assert hot_giant <= cooler_giant * 1.02  # past the peak at log g 3.2


def test_metal_lines_follow_temperature_gravity_and_metallicity() -> None:
    def ew(teff: float, logg: float, feh: float, low: float, high: float) -> float:
        return _equivalent_width(StellarParams(teff, logg, feh), low, high)

    # Ca I 4227 and Na D strengthen to cool stars.
    assert ew(4500, 4.6, 0.0, 4220, 4236) > 2 * ew(5800, 4.4, 0.0, 4220, 4236)
    assert ew(4500, 4.6, 0.0, 5885, 5905) > 2 * ew(5800, 4.4, 0.0, 5885, 5905)
    # The Ca II triplet is stronger in a giant than in a dwarf of the same Teff.
    assert ew(4500, 2.0, 0.0, 8535, 8555) > 1.2 * ew(4500, 4.7, 0.0, 8535, 8555)
    # Metal lines weaken with [Fe/H].
    assert ew(5500, 4.4, -1.5, 5160, 5195) < 0.6 * ew(5500, 4.4, 0.0, 5160, 5195)


def test_molecular_bands_only_in_cool_stars_and_hydrides_prefer_dwarfs() -> None:
    bands = [head for head, *_ in stellar_spectra.MOLECULAR_BANDS]
    m_dwarf = stellar_spectra.band_strengths(StellarParams(3550.0, 4.9, 0.0))
    m_giant = stellar_spectra.band_strengths(StellarParams(3600.0, 1.0, 0.0))
    k_dwarf = stellar_spectra.band_strengths(StellarParams(4800.0, 4.6, 0.0))
    tio, cah = bands.index(7054.0), bands.index(6830.0)
    assert m_dwarf[tio] > 0.3 and k_dwarf[tio] < 0.01
    assert m_dwarf[cah] > 20 * m_giant[cah]


def test_lower_resolution_keeps_the_equivalent_width() -> None:
    """The line-spread function moves absorption around, it does not add or remove it."""
    star = StellarParams(5000.0, 4.5, 0.0)
    sharp, blurred = _equivalent_width(star, 5150, 5210, 1.0), _equivalent_width(star, 5150, 5210, 2.5)
    assert abs(sharp - blurred) < 0.02 * sharp


def test_population_covers_the_sdss_targets_without_impossible_stars() -> None:
    rng = np.random.default_rng(0)
    stars = [stellar_spectra.draw_stellar_params(rng) for _ in range(3000)]
    teff = np.array([s.teff_k for s in stars])
    logg = np.array([s.logg_cgs for s in stars])
    feh = np.array([s.feh_dex for s in stars])
    assert teff.min() >= 3500 and teff.max() <= 9900 and (teff < 3900).any() and (teff > 9000).any()
    assert logg.min() >= 0.5 and logg.max() <= 5.0 and (logg < 1.0).any()
    assert feh.min() >= -2.5 and feh.max() <= 0.5 and (feh < -2.0).any()
    # Low gravity only for cool giants; hot stars are dwarfs or horizontal branch (log g > 2.8).
    assert np.all(teff[logg < 2.0] < 5000) and np.all(logg[teff > 7500] > 2.8)
