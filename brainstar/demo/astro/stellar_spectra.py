"""The demo's stellar population and its spectra: simple LTE physics, the real dependences.

Population (:func:`draw_stellar_params`): what SDSS/SEGUE targets for stellar spectra, M to
A types: main-sequence M, K, G, F and A dwarfs (log g from a main-sequence relation, lowered
by age), subgiants, red giants up the branch to log g 0.5 (cooler and more metal-rich at
low gravity, hotter when metal-poor), the red clump, and blue horizontal-branch stars
(metal-poor, log g ~3-3.6). Teff 3500-9900 K, log g 0.5-5, [Fe/H] -2.5..+0.5; no
combination the HR diagram does not have (no 9000 K star at log g 0.5).

Spectrum (:func:`model_spectrum`): every feature's line-centre optical depth follows
Boltzmann (excitation), Saha (ionisation) and the continuous opacity of H- (cool stars),
bound-free hydrogen and electron scattering (hot stars) in one layer whose gas and electron
pressures are solved from hydrostatic and ionisation equilibrium, relative to the Sun; so

- Balmer lines (n = 2 population over that opacity) peak near A0: ~10000 K in dwarfs,
  ~9500 K at log g 3.2 (see BALMER_CONTRAST);
- neutral metal lines (Fe I, Ca I 4227, Mg b, Na D, K I) strengthen to cool stars, ionised
  ones (Ca II H&K and triplet, Fe II, Sr II) grow at low gravity through the electron
  pressure (the Ca triplet is a giant indicator, the Fe II/Fe I balance a gravity one);
- all metals scale with [Fe/H], alpha elements (O, Mg, Si, Ca, Ti) with [alpha/Fe] = +0.4
  below [Fe/H] = -1, falling to 0 at solar; a forest of weak Fe-peak lines blankets the blue
  of cool stars;
- profiles are Voigt functions on a grid of 1/8 native pixel, so saturation (the curve of
  growth) and damping wings arise as they do: Stark-broadened Balmer wings grow with the
  electron pressure (gravity) in A stars, van der Waals wings of strong metal lines with
  the gas pressure in cool dwarfs;
- molecular bands (TiO heads 4761, 4954, 5167, 5448, 6159, 7054 A, CaH 6385 and 6830 A,
  MgH 5200 A, the CH G band, CN 3883 A) follow dissociation equilibrium, 10^(D theta), with
  the hydrides stronger at high gravity.

The spectrum is then convolved with a Gaussian line-spread function of ``wdisp`` native
pixels (SDSS's own measure of resolution) and integrated over each native pixel.
Continuum: a Planck curve at Teff. Simplifications (an atmosphere without a depth structure,
one line-forming temperature, a Doppler width with a turbulent floor so the 1/8-pixel grid
samples it) leave equivalent widths right to tens of per cent, not to the percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import voigt_profile

C_KMS = 299_792.458
SUN_TEFF, SUN_LOGG = 5772.0, 4.438
OVERSAMPLE = 8  # fine grid points per native pixel
PAD_PIXELS = 40  # native pixels beyond each end, so convolution edges fall outside the spectrum
LINE_TEMPERATURE = 0.88  # metal lines form where T ~ 0.88 Teff (T(tau=2/3) ~ Teff, lines higher up)
# Balmer wings form deep, near the continuum's own layer (T ~ Teff): hydrogen gets its own layer.
BALMER_TEMPERATURE = 1.0
# Turbulent part of the Doppler width: a floor so the 1/8-pixel grid samples every core (see the
# module docstring), larger in giants (microturbulence grows as gravity falls).
TURBULENCE_KMS = 5.0
GIANT_TURBULENCE_KMS_PER_DEX = 0.8
# van der Waals half width ~ Pg^0.4 (the layer's column shrinks as Pg grows: the net exponent).
VDW_PRESSURE_POWER = 0.4
MAX_LINE_DEPTH = 0.92  # residual intensity of saturated cores: the source function is not zero
# Continuous opacity (Gray, The Observation and Analysis of Stellar Photospheres, ch. 8, rounded):
# H- per neutral H atom per unit Pe at theta = 1 near 5000 A (bound-free + free-free), the Kramers
# constant of hydrogen bound-free absorption per atom (lambda in A), Thomson scattering per electron.
H_MINUS_CM2 = 2.5e-26
KRAMERS_CM2 = 1.0449e-26
THOMSON_CM2 = 6.652e-25
MASS_PER_H_G = 1.4 * 1.6735e-24  # gas mass per H nucleus (helium and metals included)
ELECTRON_DONORS = 1.0e-4  # Fe, Mg, Si, Na, Ca... per H nucleus at solar metallicity
DONOR_IONISATION_EV = 7.6  # a typical donor's ionisation potential (Mg 7.65, Fe 7.90, Si 8.15)
# Saha: (first, second) ionisation potential in eV per element.
IONISATION_EV = {
    "H": (13.598, np.inf),
    "Na": (5.139, 47.29),
    "Mg": (7.646, 15.04),
    "Al": (5.986, 18.83),
    "K": (4.341, 31.63),
    "Ca": (6.113, 11.87),
    "Ti": (6.828, 13.58),
    "Cr": (6.767, 16.49),
    "Mn": (7.434, 15.64),
    "Fe": (7.902, 16.20),
    "Si": (8.152, 16.35),
    "O": (13.618, 35.12),
    "Sr": (5.695, 11.03),
    "Ba": (5.212, 10.00),
}
ALPHA = frozenset({"O", "Mg", "Si", "Ca", "Ti"})

# Atomic features (blends at SDSS resolution): vacuum wavelength A, element, ionisation stage
# (1 neutral, 2 singly ionised), excitation potential of the lower level eV, the Sun's
# equivalent width A (solar-atlas values of the blend, rounded) and the Sun's Lorentzian half
# width A (radiative + van der Waals). The Sun's line-centre optical depth is solved from its
# equivalent width (:func:`solar_optical_depths`); other stars scale it by the physics.
ATOMIC_LINES: tuple[tuple[float, str, int, float, float, float], ...] = (
    (3934.78, "Ca", 2, 0.00, 18.0, 0.10),  # Ca II K
    (3969.59, "Ca", 2, 0.00, 14.0, 0.10),  # Ca II H
    (3838.29, "Mg", 1, 2.72, 1.5, 0.02),
    (3860.91, "Fe", 1, 0.00, 1.2, 0.02),
    (3945.12, "Al", 1, 0.00, 0.5, 0.01),
    (3962.64, "Al", 1, 0.01, 0.6, 0.01),
    (4031.96, "Mn", 1, 0.00, 0.5, 0.01),
    (4046.96, "Fe", 1, 1.49, 0.8, 0.01),
    (4064.45, "Fe", 1, 1.56, 0.5, 0.01),
    (4072.66, "Fe", 1, 1.61, 0.5, 0.01),
    (4078.86, "Sr", 2, 0.00, 0.4, 0.01),
    (4227.92, "Ca", 1, 0.00, 1.5, 0.03),  # Ca I resonance line
    (4234.5, "Fe", 2, 2.58, 0.3, 0.01),
    (4255.5, "Cr", 1, 0.00, 0.4, 0.01),
    (4261.9, "Fe", 1, 2.40, 0.3, 0.01),
    (4272.95, "Fe", 1, 1.49, 0.5, 0.01),
    (4275.9, "Cr", 1, 0.00, 0.3, 0.01),
    (4326.96, "Fe", 1, 1.61, 0.4, 0.01),
    (4384.78, "Fe", 1, 1.49, 0.6, 0.01),
    (4405.98, "Fe", 1, 1.56, 0.5, 0.01),
    (4416.3, "Fe", 1, 1.61, 0.4, 0.01),
    (4535.0, "Ti", 1, 0.85, 0.3, 0.01),
    (4482.4, "Mg", 2, 8.86, 0.06, 0.01),  # Mg II, an A-star line
    (4555.4, "Ba", 2, 0.00, 0.2, 0.01),
    (4924.7, "Fe", 2, 2.89, 0.2, 0.01),
    (4958.97, "Fe", 1, 2.81, 0.3, 0.01),
    (4982.5, "Ti", 1, 0.85, 0.2, 0.01),
    (5019.8, "Fe", 2, 2.89, 0.25, 0.01),
    (5168.76, "Mg", 1, 2.71, 0.9, 0.03),  # Mg b
    (5170.4, "Fe", 2, 2.89, 0.2, 0.01),
    (5174.13, "Mg", 1, 2.71, 1.0, 0.03),
    (5185.05, "Mg", 1, 2.72, 1.25, 0.04),
    (5271.7, "Fe", 1, 1.61, 0.5, 0.01),
    (5329.5, "Fe", 1, 0.92, 0.4, 0.01),
    (5372.1, "Fe", 1, 0.96, 0.4, 0.01),
    (5398.6, "Fe", 1, 0.92, 0.3, 0.01),
    (5407.4, "Fe", 1, 0.99, 0.3, 0.01),
    (5431.2, "Fe", 1, 0.96, 0.25, 0.01),
    (5447.9, "Fe", 1, 0.99, 0.3, 0.01),
    (5891.58, "Na", 1, 0.00, 0.75, 0.03),  # Na D2
    (5897.56, "Na", 1, 0.00, 0.56, 0.03),  # Na D1
    (6124.5, "Ca", 1, 1.89, 0.2, 0.01),
    (6164.1, "Ca", 1, 2.52, 0.15, 0.01),
    (6441.6, "Ca", 1, 2.52, 0.1, 0.01),
    (6349.7, "Si", 2, 8.12, 0.05, 0.01),  # Si II, strong in A stars
    (6373.1, "Si", 2, 8.12, 0.04, 0.01),
    (6496.7, "Fe", 1, 2.40, 0.15, 0.01),
    (7667.0, "K", 1, 0.00, 0.2, 0.02),
    (7774.2, "O", 1, 9.15, 0.18, 0.01),  # O I triplet (blended), strongest in A/F stars
    (7701.1, "K", 1, 0.00, 0.15, 0.02),
    (8185.5, "Na", 1, 2.10, 0.1, 0.01),
    (8197.1, "Na", 1, 2.10, 0.15, 0.01),
    (8500.36, "Ca", 2, 1.69, 1.5, 0.05),  # Ca II triplet
    (8544.44, "Ca", 2, 1.70, 3.6, 0.08),
    (8664.52, "Ca", 2, 1.69, 2.6, 0.07),
    (8690.9, "Fe", 1, 2.83, 0.2, 0.01),
    (8808.2, "Mg", 1, 4.35, 0.3, 0.01),
)
# Balmer lines: vacuum wavelength A, upper level n, log gf (NIST).
BALMER_LINES: tuple[tuple[float, int, float], ...] = (
    (6564.61, 3, 0.710),
    (4862.68, 4, -0.020),
    (4341.68, 5, -0.447),
    (4102.89, 6, -0.753),
    (3971.20, 7, -0.993),
    (3890.16, 8, -1.190),
    (3836.47, 9, -1.360),
)
BALMER_SUN_EW = 4.0  # H alpha's equivalent width in the Sun (A); the others' optical depths by gf lambda
BALMER_SUN_STARK_A = 0.05  # H alpha's Stark half width in the Sun, ~ (n_u^2 - 4) lambda^2 Pe^STARK_PE_POWER
# Balmer lines form over a range of depths whose temperature and electron pressure vary less
# than a single layer's do: the one-layer ratio N_2/kappa is taken to the power BALMER_CONTRAST
# and the Stark width grows as Pe^STARK_PE_POWER instead of Pe^(2/3). With the layer's own
# values H beta's EW would reach ~100 A in A stars (real: ~15 A); with these it rises from ~4 A
# at 6000 K to a plateau of ~19 A (log g 4.2) between 9500 and 10500 K, ~16 A at 9500 K for log g 3.2.
BALMER_CONTRAST = 0.75
STARK_PE_POWER = 0.4


# Molecular bands: head A, direction the band degrades in (+1 to the red, -1 to the blue),
# e-folding length A, the peak optical depth in the reference star (MOLECULE_REFERENCES), an
# effective energy eV for 10^(E theta) (dissociation energy plus, for a metal hydride or oxide,
# the metal's ionisation potential, since the neutral metal share ~ 10^(chi theta) / Pe), the
# net exponent on the gas pressure (the metal hydrides gain most with gravity; CN, a luminosity
# criterion, with falling gravity), the molecule's elements, the reference star.
MOLECULAR_BANDS: tuple[tuple[float, int, float, float, float, float, tuple[str, ...], str], ...] = (
    (4761.0, 1, 60.0, 0.15, 13.7, 0.25, ("Ti", "O"), "M2V"),  # TiO
    (4954.0, 1, 90.0, 0.30, 13.7, 0.25, ("Ti", "O"), "M2V"),
    (5167.0, 1, 90.0, 0.35, 13.7, 0.25, ("Ti", "O"), "M2V"),
    (5448.0, 1, 100.0, 0.35, 13.7, 0.25, ("Ti", "O"), "M2V"),
    (6159.0, 1, 90.0, 0.45, 13.7, 0.25, ("Ti", "O"), "M2V"),
    (7054.0, 1, 120.0, 0.75, 13.7, 0.25, ("Ti", "O"), "M2V"),
    (6385.0, 1, 25.0, 0.25, 7.8, 1.2, ("Ca",), "M2V"),  # CaH
    (6830.0, 1, 60.0, 0.30, 7.8, 1.2, ("Ca",), "M2V"),
    (5211.0, -1, 60.0, 0.20, 8.9, 1.0, ("Mg",), "M2V"),  # MgH, degraded to the blue
    (4314.0, -1, 20.0, 0.30, 2.0, 0.2, ("C",), "Sun"),  # CH G band
    (3883.0, -1, 35.0, 0.12, 4.0, -0.3, ("C", "N"), "Sun"),  # CN violet
)
# Reference stars of the band strengths: Teff, log g, [Fe/H] = 0.
MOLECULE_REFERENCES = {"M2V": (3500.0, 4.8), "Sun": (SUN_TEFF, SUN_LOGG)}
MOLECULE_MAX_TAU = 2.0  # band optical depth cap: the densest bands saturate, never black


@dataclass(frozen=True)
class StellarParams:
    teff_k: float
    logg_cgs: float
    feh_dex: float


# ---- Population ----------------------------------------------------------------------

# (kind, share) of the demo's stellar targets.
POPULATION: tuple[tuple[str, float], ...] = (
    ("m_dwarf", 0.12),
    ("k_dwarf", 0.12),
    ("fg_dwarf", 0.26),
    ("subgiant", 0.08),
    ("red_giant", 0.18),
    ("red_clump", 0.06),
    ("a_dwarf", 0.10),
    ("bhb", 0.08),
)
# The hot end stops 100 K short of 10000 K: catalogue labels scatter by tens of K around the truth
# and the feature store expects Teff <= 10000 K.
TEFF_RANGE, LOGG_RANGE, FEH_RANGE = (3500.0, 9900.0), (0.5, 5.0), (-2.5, 0.5)


def main_sequence_logg(teff_k: float) -> float:
    """Zero-age main-sequence log g: ~5.0 at 3500 K, 4.55 at the Sun, ~4.25 for A stars."""
    x = np.log10(teff_k / SUN_TEFF)
    return float(np.clip(4.57 - 2.4 * x - 4.0 * x**2, 4.15, 5.0))


def _metallicity(rng: np.random.Generator, halo_share: float) -> float:
    """Thin/thick disc N(-0.25, 0.3) or halo N(-1.5, 0.5), clipped to FEH_RANGE."""
    mean, sd = (-1.5, 0.5) if rng.random() < halo_share else (-0.25, 0.3)
    return float(np.clip(rng.normal(mean, sd), *FEH_RANGE))


def _draw_kind(kind: str, rng: np.random.Generator) -> tuple[float, float, float]:
    if kind in ("m_dwarf", "k_dwarf", "fg_dwarf", "a_dwarf"):
        low, high = {"m_dwarf": (3500, 3900), "k_dwarf": (3900, 5200), "fg_dwarf": (5200, 7400)}.get(
            kind, (7400, TEFF_RANGE[1])
        )
        teff = float(rng.uniform(low, high))
        feh = _metallicity(rng, 0.25 if kind != "a_dwarf" else 0.0)
        # Age lowers log g; the coolest dwarfs barely evolve in a Hubble time.
        evolved = rng.uniform(0.0, 0.35) * min(1.0, max(0.0, (teff - 4500.0) / 1000.0))
        return teff, main_sequence_logg(teff) - evolved, feh
    if kind == "subgiant":
        return float(rng.uniform(4900, 6400)), float(rng.uniform(3.4, 4.0)), _metallicity(rng, 0.3)
    if kind == "red_clump":
        feh = float(np.clip(rng.normal(-0.2, 0.25), -0.8, 0.5))
        return float(rng.uniform(4550, 5050) - 150 * feh), float(rng.uniform(2.3, 2.7)), feh
    if kind == "bhb":
        feh = float(rng.uniform(-2.5, -1.2))
        teff = float(rng.uniform(7500, TEFF_RANGE[1]))
        return teff, float(rng.uniform(2.9, 3.4) + 0.25 * (teff - 7500) / 2500), feh
    # Red giant branch: cooler at low gravity and high metallicity (a metal-poor RGB is hotter).
    logg = float(rng.uniform(0.5, 3.5))
    feh = _metallicity(rng, 0.4)
    teff = 3850.0 + 330.0 * logg - 180.0 * feh + rng.normal(0.0, 80.0)
    return float(max(teff, 3550.0)), logg, feh


def draw_stellar_params(rng: np.random.Generator) -> StellarParams:
    """One star of the demo's SDSS-like target mix (POPULATION), within TEFF/LOGG/FEH_RANGE."""
    kinds = [kind for kind, _ in POPULATION]
    shares = np.array([share for _, share in POPULATION])
    kind = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
    teff, logg, feh = _draw_kind(kind, rng)
    return StellarParams(
        float(np.clip(teff, *TEFF_RANGE)), float(np.clip(logg, *LOGG_RANGE)), float(np.clip(feh, *FEH_RANGE))
    )


# ---- Atmosphere: pressures, ionisation, opacity ----------------------------------------


def alpha_enhancement(feh_dex: float) -> float:
    """[alpha/Fe]: +0.4 below [Fe/H] = -1, linear to 0 at [Fe/H] = 0, 0 above."""
    return float(np.clip(-0.4 * feh_dex, 0.0, 0.4))


def abundance(element: str, feh_dex: float) -> float:
    """[X/H] of the demo's stars: [Fe/H] plus [alpha/Fe] for alpha elements; 0 for H."""
    if element == "H":
        return 0.0
    return feh_dex + (alpha_enhancement(feh_dex) if element in ALPHA else 0.0)


def _saha_log_phi(temperature: float, chi_ev: float) -> float:
    """log10 of N_(i+1) Pe / N_i (Pe in dyn/cm^2), partition-function ratio 1:
    2.5 log T - 5040 chi / T - 0.1762 + log 2."""
    return 2.5 * np.log10(temperature) - 5040.0 * chi_ev / temperature - 0.1762 + np.log10(2.0)


@dataclass(frozen=True)
class Atmosphere:
    """One line-forming layer: temperature K, theta = 5040/T, gas and electron pressure (dyn/cm^2),
    hydrogen's ionised share."""

    temperature: float
    theta: float
    log_pg: float
    log_pe: float
    hydrogen_ionised: float
    feh_dex: float

    @classmethod
    def of(cls, params: StellarParams, layer: float = LINE_TEMPERATURE) -> Atmosphere:
        """The layer at T = ``layer`` Teff in hydrostatic and ionisation equilibrium: Pg = (2/3) g /
        kappa(Pe, T), and Pe from hydrogen plus the electron donors (metals), solved together by
        damped iteration."""
        temperature = layer * params.teff_k
        theta = 5040.0 / temperature
        # Hydrogen's partition functions are 2 (H I) and 1 (H II): the factor 2U+/U is 1, not 2.
        phi_h = 10.0 ** (_saha_log_phi(temperature, IONISATION_EV["H"][0]) - np.log10(2.0))
        phi_m = 10.0 ** _saha_log_phi(temperature, DONOR_IONISATION_EV)
        donors = ELECTRON_DONORS * 10.0**params.feh_dex
        gravity = 10.0**params.logg_cgs
        h_minus = H_MINUS_CM2 * theta**2.5 * 10.0 ** (0.754 * theta)  # per unit Pe
        bound_free = float(_hydrogen_bound_free(theta, np.array([5000.0]))[0])
        log_pg, log_pe = 4.5, 1.0
        for _ in range(60):
            pe = 10.0**log_pe
            x_h, x_m = phi_h / (phi_h + pe), phi_m / (phi_m + pe)
            electrons = x_h + donors * x_m  # per H nucleus
            kappa = (1.0 - x_h) * (h_minus * pe + bound_free) + THOMSON_CM2 * electrons
            new_pg = (2.0 / 3.0) * gravity * MASS_PER_H_G / kappa
            new_pe = new_pg * electrons / (1.0 + electrons)
            log_pg = 0.5 * (log_pg + np.log10(new_pg))
            log_pe = 0.5 * (log_pe + np.log10(new_pe))
        x_h = phi_h / (phi_h + 10.0**log_pe)
        return cls(temperature, theta, float(log_pg), float(log_pe), float(x_h), params.feh_dex)

    def stage_fraction(self, element: str, stage: int) -> float:
        """Share of ``element`` in ionisation ``stage`` (1, 2 or 3) from two Saha steps."""
        first, second = IONISATION_EV[element]
        r1 = 10.0 ** (_saha_log_phi(self.temperature, first) - self.log_pe)
        r2 = (
            0.0
            if not np.isfinite(second)
            else 10.0 ** (_saha_log_phi(self.temperature, second) - self.log_pe)
        )
        shares = np.array([1.0, r1, r1 * r2])
        return float(shares[stage - 1] / shares.sum())

    def continuum_opacity(self, wave: np.ndarray) -> np.ndarray:
        """Continuous opacity per H nucleus (cm^2) at ``wave`` A: H-, bound-free H, Thomson scattering."""
        electrons = self.hydrogen_ionised + ELECTRON_DONORS * 10.0**self.feh_dex
        h_minus = H_MINUS_CM2 * 10.0**self.log_pe * self.theta**2.5 * 10.0 ** (0.754 * self.theta)
        neutral = (1.0 - self.hydrogen_ionised) * (h_minus + _hydrogen_bound_free(self.theta, wave))
        return neutral + THOMSON_CM2 * electrons


HYDROGEN_LEVELS = np.arange(3, 9)  # bound-free from n = 3.. (n = 2's edge, 3647 A, is bluer than SDSS)


def _hydrogen_bound_free(theta: float, wave: np.ndarray) -> np.ndarray:
    """Bound-free opacity per neutral H atom (cm^2) from the levels that absorb at ``wave`` A
    (Kramers, gaunt factor 1): sum over n of 10^(-chi_n theta) / n^3 lambda^3; shape like ``wave``."""
    wave = np.asarray(wave, dtype=np.float64)
    edges = 911.75 * HYDROGEN_LEVELS**2.0  # ionisation edge of level n, A
    chi = 13.598 * (1.0 - 1.0 / HYDROGEN_LEVELS**2.0)
    per_level = 10.0 ** (-chi * theta) / HYDROGEN_LEVELS**3.0
    absorbing = wave[..., None] < edges
    return KRAMERS_CM2 * wave**3 * np.sum(np.where(absorbing, per_level, 0.0), axis=-1)


@lru_cache(maxsize=2)
def _sun(layer: float = LINE_TEMPERATURE) -> Atmosphere:
    return Atmosphere.of(StellarParams(SUN_TEFF, SUN_LOGG, 0.0), layer)


def turbulence_kms(logg_cgs: float) -> float:
    """Turbulent velocity (km/s): TURBULENCE_KMS for dwarfs, growing below the Sun's gravity."""
    return TURBULENCE_KMS + GIANT_TURBULENCE_KMS_PER_DEX * max(SUN_LOGG - logg_cgs, 0.0)


def _doppler_kms(temperature: float, mass_amu: float, turbulence: float = TURBULENCE_KMS) -> float:
    """Doppler width b (km/s): thermal sqrt(2kT/m) and turbulence in quadrature."""
    return float(np.sqrt(2 * 1.380649e-23 * temperature / (mass_amu * 1.66054e-27) / 1e6 + turbulence**2))


MASS_AMU = {
    "H": 1.008,
    "O": 16.0,
    "Si": 28.1,
    "Na": 23.0,
    "Mg": 24.3,
    "Al": 27.0,
    "K": 39.1,
    "Ca": 40.1,
    "Ti": 47.9,
}
MASS_AMU |= {"Cr": 52.0, "Mn": 54.9, "Fe": 55.8, "Sr": 87.6, "Ba": 137.3}


@dataclass(frozen=True)
class LineSet:
    """Voigt parameters of a star's lines, arrays (n_lines,); ``weak`` marks the forest."""

    centre: np.ndarray  # rest wavelength A
    tau: np.ndarray  # line-centre optical depth (Doppler core)
    sigma: np.ndarray  # Gaussian sigma A
    gamma: np.ndarray  # Lorentzian half width A
    weak: np.ndarray  # bool: a forest line, drawn within FOREST_WINDOW_POINTS of its centre


# The forest: the thousands of weak Fe-peak lines that blanket a cool star's blue spectrum, stood
# in for by FOREST_SIZE lines drawn once from a fixed seed (positions denser to the blue, solar
# equivalent widths log-uniform), each with the Saha-Boltzmann physics of the named ones.
FOREST_SIZE = 400
FOREST_SEED = 20_241_201
FOREST_SPECIES = (("Fe", 1, 0.0, 5.0, 0.62), ("Fe", 2, 2.5, 4.0, 0.1), ("Ti", 1, 0.0, 2.0, 0.14))
FOREST_SPECIES += (
    ("Cr", 1, 0.0, 3.5, 0.08),
    ("Mn", 1, 0.0, 4.0, 0.06),
)  # (element, stage, chi range eV, share)
FOREST_EW_RANGE_A = (0.01, 0.15)
FOREST_DAMPING = 0.1  # Lorentz half width / Doppler sigma of forest lines in the Sun
FOREST_WINDOW_POINTS = 25  # fine-grid points each side of a forest line's centre (>= 2.6 A)


@dataclass(frozen=True)
class LineTable:
    """Every atomic line as arrays (n,): ATOMIC_LINES then the forest."""

    wave: np.ndarray
    element: tuple[str, ...]
    stage: np.ndarray
    chi: np.ndarray
    ew_sun: np.ndarray
    gamma_sun: np.ndarray
    mass: np.ndarray
    weak: np.ndarray


@lru_cache(maxsize=1)
def line_table() -> LineTable:
    """ATOMIC_LINES followed by the FOREST_SIZE forest lines (deterministic)."""
    rng = np.random.default_rng(FOREST_SEED)
    shares = np.array([species[4] for species in FOREST_SPECIES])
    picks = rng.choice(len(FOREST_SPECIES), FOREST_SIZE, p=shares / shares.sum())
    # Density ~ lambda^-2 over 3800-9200 A: uniform in 1/lambda.
    inverse = rng.uniform(1.0 / 9200.0, 1.0 / 3800.0, FOREST_SIZE)
    forest = [
        (
            float(1.0 / inv),
            FOREST_SPECIES[k][0],
            FOREST_SPECIES[k][1],
            float(rng.uniform(FOREST_SPECIES[k][2], FOREST_SPECIES[k][3])),
            float(np.exp(rng.uniform(*np.log(FOREST_EW_RANGE_A)))),
            float("nan"),  # set from FOREST_DAMPING once the Doppler width is known
        )
        for k, inv in zip(picks, inverse, strict=True)
    ]
    rows = [*ATOMIC_LINES, *forest]
    wave = np.array([row[0] for row in rows])
    elements = tuple(row[1] for row in rows)
    weak = np.arange(len(rows)) >= len(ATOMIC_LINES)
    mass = np.array([MASS_AMU[e] for e in elements])
    sun_sigma = _sigma_array(wave, _sun().temperature, mass, TURBULENCE_KMS)
    gamma = np.array([row[5] for row in rows])
    gamma = np.where(weak, FOREST_DAMPING * sun_sigma, gamma)
    return LineTable(
        wave,
        elements,
        np.array([row[2] for row in rows]),
        np.array([row[3] for row in rows]),
        np.array([row[4] for row in rows]),
        gamma,
        mass,
        weak,
    )


def _sigma_array(wave: np.ndarray, temperature: float, mass: np.ndarray, turbulence: float) -> np.ndarray:
    """Gaussian sigma (A) of Doppler cores: b / sqrt(2), b from thermal speed and turbulence."""
    thermal = 2 * 1.380649e-23 * temperature / (mass * 1.66054e-27) / 1e6
    return wave * np.sqrt(thermal + turbulence**2) / C_KMS / np.sqrt(2.0)


def _atomic_strengths(atm: Atmosphere) -> np.ndarray:
    """N(lower level) / continuous opacity of every line_table() line, without the constant:
    abundance x Saha x Boltzmann / kappa; shape (n_lines,)."""
    table = line_table()
    per_species = {
        (element, stage): 10.0 ** abundance(element, atm.feh_dex) * atm.stage_fraction(element, stage)
        for element, stage in set(zip(table.element, table.stage.tolist(), strict=True))
    }
    populations = np.array(
        [per_species[key] for key in zip(table.element, table.stage.tolist(), strict=True)]
    )
    return populations * 10.0 ** (-table.chi * atm.theta) / atm.continuum_opacity(table.wave)


def _balmer_strengths(atm: Atmosphere) -> np.ndarray:
    """Neutral H in n = 2 (Boltzmann, 10.2 eV) over the continuous opacity at each BALMER_LINES entry."""
    waves = np.array([line[0] for line in BALMER_LINES])
    return (1.0 - atm.hydrogen_ionised) * 10.0 ** (-10.2 * atm.theta) / atm.continuum_opacity(waves)


@lru_cache(maxsize=1)
def _solar_strengths() -> tuple[np.ndarray, np.ndarray]:
    return _atomic_strengths(_sun()), _balmer_strengths(_sun(BALMER_TEMPERATURE))


def equivalent_width(tau: float, sigma: float, gamma: float) -> float:
    """Equivalent width (A) of a line: centre optical depth ``tau``, Doppler ``sigma``, Lorentz ``gamma``."""
    half = max(20.0 * sigma, float(np.sqrt(tau * sigma * gamma) * 30.0), 1.0)
    x = np.arange(-half, half, sigma / 2.0)
    depth = MAX_LINE_DEPTH * -np.expm1(-tau * sigma * np.sqrt(2 * np.pi) * voigt_profile(x, sigma, gamma))
    return float(depth.sum() * sigma / 2.0)


def _solve_tau(target_ew: float, sigma: float, gamma: float) -> float:
    """The centre optical depth giving ``target_ew`` (bisection in log tau; EW grows monotonically)."""
    low, high = -4.0, 14.0
    for _ in range(45):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if equivalent_width(10.0**mid, sigma, gamma) < target_ew else (low, mid)
    return float(10.0 ** (0.5 * (low + high)))


def _forest_taus(ew_over_sigma: np.ndarray) -> np.ndarray:
    """Centre optical depths of forest lines from EW / sigma: their curve of growth is one function
    (damping FOREST_DAMPING in units of sigma), tabulated once and inverted by interpolation."""
    log_taus = np.linspace(-4.0, 6.0, 201)
    widths = np.array([equivalent_width(10.0**t, 1.0, FOREST_DAMPING) for t in log_taus])
    return 10.0 ** np.interp(np.log10(ew_over_sigma), np.log10(widths), log_taus)


def _sigma_a(wave: float, temperature: float, element: str, turbulence: float = TURBULENCE_KMS) -> float:
    """Gaussian sigma (A) of the Doppler core: b / sqrt(2) in wavelength."""
    return wave * _doppler_kms(temperature, MASS_AMU[element], turbulence) / C_KMS / np.sqrt(2.0)


@lru_cache(maxsize=1)
def solar_optical_depths() -> tuple[np.ndarray, float]:
    """(Sun's centre optical depth of each line_table() line, of H alpha), solved from their EWs."""
    table, temperature = line_table(), _sun().temperature
    sigma = _sigma_array(table.wave, temperature, table.mass, TURBULENCE_KMS)
    atomic = np.empty(table.wave.size)
    atomic[table.weak] = _forest_taus(table.ew_sun[table.weak] / sigma[table.weak])
    named = np.flatnonzero(~table.weak)
    atomic[named] = [_solve_tau(table.ew_sun[i], sigma[i], table.gamma_sun[i]) for i in named]
    h_alpha = BALMER_LINES[0][0]
    balmer = _solve_tau(BALMER_SUN_EW, _sigma_a(h_alpha, temperature, "H"), BALMER_SUN_STARK_A)
    return atomic, balmer


def line_set(params: StellarParams) -> LineSet:
    """Line-centre optical depths and widths of line_table() then BALMER_LINES for ``params``."""
    atm, sun, table = Atmosphere.of(params), _sun(), line_table()
    atomic_sun, h_alpha_sun = solar_optical_depths()
    # van der Waals damping ~ Pg^VDW_PRESSURE_POWER T^0.3; Stark ~ Pe^STARK_PE_POWER.
    vdw = (
        10.0 ** (VDW_PRESSURE_POWER * (atm.log_pg - sun.log_pg)) * (atm.temperature / sun.temperature) ** 0.3
    )
    turbulence = turbulence_kms(params.logg_cgs)
    deep, deep_sun = Atmosphere.of(params, BALMER_TEMPERATURE), _sun(BALMER_TEMPERATURE)
    stark = 10.0 ** (STARK_PE_POWER * (deep.log_pe - deep_sun.log_pe))
    atomic_ref, balmer_ref = _solar_strengths()
    sigma = _sigma_array(table.wave, atm.temperature, table.mass, turbulence)
    sigma_sun = _sigma_array(table.wave, sun.temperature, table.mass, TURBULENCE_KMS)
    # The same number of absorbers spread over a wider Doppler core: lower centre optical depth.
    tau = atomic_sun * _atomic_strengths(atm) / atomic_ref * sigma_sun / sigma
    balmer = np.array(BALMER_LINES)
    h_alpha = BALMER_LINES[0]
    gf_lambda = 10.0 ** (balmer[:, 2] - h_alpha[2]) * balmer[:, 0] / h_alpha[0]
    balmer_tau = h_alpha_sun * gf_lambda * (_balmer_strengths(deep) / balmer_ref) ** BALMER_CONTRAST
    balmer_sigma = _sigma_array(
        balmer[:, 0], atm.temperature, np.full(len(balmer), MASS_AMU["H"]), turbulence
    )
    balmer_gamma = (
        BALMER_SUN_STARK_A * (balmer[:, 1] ** 2 - 4) / 5.0 * (balmer[:, 0] / h_alpha[0]) ** 2 * stark
    )
    return LineSet(
        np.concatenate([table.wave, balmer[:, 0]]),
        np.concatenate([tau, balmer_tau]),
        np.concatenate([sigma, balmer_sigma]),
        np.concatenate([table.gamma_sun * vdw, balmer_gamma]),
        np.concatenate([table.weak, np.zeros(len(balmer), dtype=bool)]),
    )


@lru_cache(maxsize=2)
def _molecule_reference(name: str) -> Atmosphere:
    teff, logg = MOLECULE_REFERENCES[name]
    return Atmosphere.of(StellarParams(teff, logg, 0.0))


def band_strengths(params: StellarParams) -> np.ndarray:
    """Peak optical depth of each MOLECULAR_BANDS entry, shape (n_bands,), relative to its reference star.

    Dissociation equilibrium: N(AB) / kappa ~ 10^(E theta) Pg^p times the elements' abundances.
    """
    atm = Atmosphere.of(params)
    out = []
    for _, _, _, strength, energy, pressure_power, elements, reference in MOLECULAR_BANDS:
        ref = _molecule_reference(reference)
        log_ratio = energy * (atm.theta - ref.theta) + pressure_power * (atm.log_pg - ref.log_pg)
        log_ratio += sum(abundance(element, params.feh_dex) for element in elements)
        out.append(min(strength * 10.0**log_ratio, MOLECULE_MAX_TAU))
    return np.asarray(out)


# ---- Rendering -------------------------------------------------------------------------


def fine_grid(loglam: np.ndarray) -> tuple[np.ndarray, float]:
    """(log10 wavelengths of a grid OVERSAMPLE times finer than ``loglam``, padded, its step)."""
    step = float(loglam[1] - loglam[0]) / OVERSAMPLE
    n = (loglam.size + 2 * PAD_PIXELS) * OVERSAMPLE
    start = loglam[0] - (PAD_PIXELS * OVERSAMPLE + (OVERSAMPLE - 1) / 2.0) * step
    return start + step * np.arange(n), step


LINE_TAU_FLOOR = 1e-3  # optical depth below which a line's profile is not evaluated (0.1 % of the flux)


def _line_window_a(lines: LineSet) -> np.ndarray:
    """Half width (A) within which a line's optical depth exceeds LINE_TAU_FLOOR: core or Lorentz wing."""
    core = lines.sigma * np.sqrt(2.0 * np.log(np.maximum(lines.tau, 1.0) / LINE_TAU_FLOOR + 1.0))
    # Far wing: tau sigma sqrt(2 pi) gamma / (pi x^2) = LINE_TAU_FLOOR.
    wing = np.sqrt(lines.tau * lines.sigma * np.sqrt(2 * np.pi) * lines.gamma / np.pi / LINE_TAU_FLOOR)
    return np.clip(np.maximum(core, wing), 2.0, 400.0)


def optical_depth(params: StellarParams, wave: np.ndarray, rv_kms: float) -> np.ndarray:
    """Total line and band optical depth on ``wave`` (A, increasing, observed frame), shape like ``wave``."""
    shift = 1.0 + rv_kms / C_KMS
    lines = line_set(params)
    tau = np.zeros_like(wave)
    # Voigt profile scaled so that its Doppler core alone would peak at tau: damping moves
    # absorbers into the wings without adding any.
    scale = lines.tau * lines.sigma * np.sqrt(2 * np.pi)
    centres = lines.centre * shift
    strong = np.flatnonzero(~lines.weak & (lines.tau > LINE_TAU_FLOOR))
    windows = _line_window_a(lines)
    for i in strong:
        lo, hi = np.searchsorted(wave, (centres[i] - windows[i], centres[i] + windows[i]))
        if hi > lo:
            tau[lo:hi] += scale[i] * voigt_profile(wave[lo:hi] - centres[i], lines.sigma[i], lines.gamma[i])
    weak = np.flatnonzero(lines.weak)
    nearest = np.searchsorted(wave, centres[weak])
    points = nearest[:, None] + np.arange(-FOREST_WINDOW_POINTS, FOREST_WINDOW_POINTS + 1)
    inside = (points >= 0) & (points < wave.size)
    points = np.clip(points, 0, wave.size - 1)
    profile = voigt_profile(
        wave[points] - centres[weak, None], lines.sigma[weak, None], lines.gamma[weak, None]
    )
    tau += np.bincount(points[inside], (scale[weak, None] * profile)[inside], minlength=wave.size)
    for (head, direction, length, *_), strength in zip(MOLECULAR_BANDS, band_strengths(params), strict=True):
        if strength < 1e-4:
            continue
        offset = direction * (wave - head * shift)
        inside = offset >= 0
        tau[inside] += strength * np.exp(-offset[inside] / length)
    return tau


def lsf_convolve(values: np.ndarray, sigma_points: float) -> np.ndarray:
    """Convolve by a unit-area Gaussian of ``sigma_points`` grid points (FFT, edges padded by the ends)."""
    if sigma_points <= 0:
        return values
    half = int(np.ceil(5 * sigma_points))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma_points) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([np.full(half, values[0]), values, np.full(half, values[-1])])
    size = padded.size + kernel.size - 1
    n_fft = 1 << (size - 1).bit_length()
    full = np.fft.irfft(np.fft.rfft(padded, n_fft) * np.fft.rfft(kernel, n_fft), n_fft)[:size]
    return full[2 * half : 2 * half + values.size]


def planck(wave: np.ndarray, teff_k: float) -> np.ndarray:
    """B_lambda(Teff) up to a constant, shape like ``wave`` (A)."""
    return wave**-5 / np.expm1(1.4388e8 / (wave * teff_k))


def model_spectrum(
    params: StellarParams, loglam: np.ndarray, rv_kms: float = 0.0, wdisp: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free (continuum, normalised absorption) on the evenly spaced ``loglam``, both (n_pix,).

    Lines and bands at ``rv_kms`` on a grid OVERSAMPLE times finer, convolved with a Gaussian
    line-spread function of ``wdisp`` native pixels (sigma) and averaged over each native pixel.
    The continuum is a Planck curve in F_lambda scaled to mean 1.
    """
    fine, _ = fine_grid(loglam)
    wave = 10.0**fine
    absorbed = 1.0 - MAX_LINE_DEPTH * (1.0 - np.exp(-optical_depth(params, wave, rv_kms)))
    seen = lsf_convolve(absorbed, wdisp * OVERSAMPLE)
    native = seen.reshape(-1, OVERSAMPLE).mean(axis=1)[PAD_PIXELS:-PAD_PIXELS]
    continuum = planck(10.0**loglam, params.teff_k)
    return continuum / continuum.mean(), native
