"""Light-curve forward models the demo Kepler and TESS files draw from, with known truth.

One function per variability class of ``formats.LC_CLASSES``, each returning a
:class:`Variable`: a noise-free relative flux (1 = out of the signal) as a function of time,
its catalogue period and the drawn parameters. Every class has cases that look like another
one, as in the real catalogues:

- transit: a limb-darkened planet (quadratic law, small-planet approximation of Mandel & Agol
  2002 with the exact occulted area, so grazing transits turn V-shaped), drawn above the
  catalogue's threshold (matched-filter S/N >= 12 on white noise; Kepler's search stops at 7.1),
  so the shallowest sit near the noise;
- eclipsing_binary: detached pairs (two eclipsing disks, a secondary displaced by e cos w,
  ellipsoidal and reflection terms, and third light that can make eclipses planet-shallow),
  contact (W UMa) binaries as Rucinski's (1993) cosine series, and ellipsoidal variables;
- pulsator: RRab (0.45-0.9 d, a sawtooth of 0.3-1 mag, Blazhko modulation in 40 %), RRc
  (0.25-0.45 d, nearly sinusoidal: it resembles a contact binary at half its period) and
  delta Scuti stars (dominant mode 0.0426-0.25 d, below the long-cadence Nyquist period of
  0.0409 d, plus weaker modes some of which lie above it and alias);
- rotation: evolving spots on a differentially rotating star (1-30 d), amplitudes down to a
  few times the noise, so the weakest look like a quiet star's red noise;
- quiet: no signal (the writers add granulation and white noise to every class).

Fluxes are integrated over the exposure (:func:`observe`): a 29.4-minute cadence smooths
transit ingress and damps a 20 c/d pulsation to ~70 % of its amplitude, as in Kepler data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

# Long-cadence Nyquist period is 2 x 0.02043 d = 0.0409 d; the dominant delta Scuti mode stays
# just below the Nyquist frequency so that its catalogue period is the one the data show.
DELTA_SCUTI_PERIOD_RANGE = (0.0426, 0.25)
# Kepler's TPS detects at a multiple-event statistic of 7.1; the demo catalogue, like the vetted
# one, keeps transits from S/N 12 (before red noise), so its weakest sit near the noise yet can
# be recovered.
TRANSIT_SNR_THRESHOLD = 12.0
SUBSAMPLES = 7  # points per exposure when integrating a model over the cadence

FluxModel = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Variable:
    """One star's signal: relative flux at times in days, the catalogue period (None: aperiodic)."""

    kind: str
    period_days: float | None
    flux: FluxModel
    truth: dict[str, float | str] = field(default_factory=dict)


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def observe(variable: Variable, time: np.ndarray, exposure_days: float) -> np.ndarray:
    """The signal averaged over each exposure (centred on ``time``), shape of ``time``."""
    offsets = exposure_days * ((np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5)
    return variable.flux(time[:, None] + offsets).mean(axis=1)


def red_noise(n: int, timescale_cadences: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise with the given correlation length (granulation, activity)."""
    phi = np.exp(-1.0 / timescale_cadences)
    white = rng.normal(0.0, np.sqrt(1 - phi**2), n)
    white[0] = rng.normal()
    return lfilter([1.0], [1.0, -phi], white)


def overlap_area(d: np.ndarray, r1: float, r2: float) -> np.ndarray:
    """Area common to two disks of radii r1, r2 whose centres are ``d`` apart (same units)."""
    d = np.asarray(d, dtype=np.float64)
    area = np.zeros_like(d)
    inside = d <= abs(r1 - r2)
    area[inside] = np.pi * min(r1, r2) ** 2
    partial = (d < r1 + r2) & ~inside
    dp = d[partial]
    a1 = r1**2 * np.arccos(np.clip((dp**2 + r1**2 - r2**2) / (2 * dp * r1), -1.0, 1.0))
    a2 = r2**2 * np.arccos(np.clip((dp**2 + r2**2 - r1**2) / (2 * dp * r2), -1.0, 1.0))
    kite = 0.5 * np.sqrt(np.clip((-dp + r1 + r2) * (dp + r1 - r2) * (dp - r1 + r2) * (dp + r1 + r2), 0, None))
    area[partial] = a1 + a2 - kite
    return area


def _phase(time: np.ndarray, period: float, t0: float) -> np.ndarray:
    """Orbital phase in [-0.5, 0.5), 0 at ``t0``."""
    return np.mod(time - t0 + 0.5 * period, period) / period - 0.5


def _sky_separation(phase: np.ndarray, a_over_r: float, cos_i: float) -> np.ndarray:
    """Projected separation (units of the primary's radius) on a circular orbit; inf behind the star."""
    x = 2 * np.pi * phase
    z = a_over_r * np.sqrt(np.sin(x) ** 2 + (cos_i * np.cos(x)) ** 2)
    return np.where(np.cos(x) > 0, z, np.inf)


def _limb_darkened_loss(z: np.ndarray, p: float, u1: float, u2: float) -> np.ndarray:
    """Fraction of a quadratic-limb-darkened star hidden by a dark disk of radius ratio p at separation z.

    Small-planet approximation: the occulted area times the intensity at the middle of the
    occulted region (the planet's centre, or halfway in from the limb while grazing).
    """
    r = np.where(z < 1.0 - p, z, 0.5 * (z - p + 1.0))
    mu = np.sqrt(np.clip(1.0 - np.clip(r, 0.0, 1.0) ** 2, 0.0, 1.0))
    intensity = 1.0 - u1 * (1.0 - mu) - u2 * (1.0 - mu) ** 2
    return (
        overlap_area(np.where(np.isfinite(z), z, 1e9), 1.0, p) * intensity / (np.pi * (1 - u1 / 3 - u2 / 6))
    )


def matched_snr(model: np.ndarray, noise_rel: float) -> float:
    """S/N of a known signal in white noise: sqrt(sum of squared deviations) / sigma."""
    return float(np.sqrt(np.sum((1.0 - model) ** 2)) / noise_rel)


def transit(time: np.ndarray, noise_rel: float, rng: np.random.Generator) -> Variable:
    """A planet on a circular orbit (0.8-12 d) around a solar-type star, redrawn until detectable."""
    period = log_uniform(rng, 0.8, 12.0)
    t0 = float(time[0] + rng.uniform(0, period))
    density = rng.uniform(0.5, 2.0)  # stellar density in solar units
    a_over_r = 4.206 * period ** (2 / 3) * density ** (1 / 3)  # Kepler's third law, a/R* of the Sun at 1 d
    u1, u2 = float(rng.uniform(0.3, 0.5)), float(rng.uniform(0.15, 0.3))  # Kepler band, FGK
    for _ in range(200):
        p = log_uniform(rng, 0.008, 0.15)
        b = float(rng.uniform(0.0, 1.0 + p))  # b > 1 - p: grazing
        cos_i = b / a_over_r

        def flux(t: np.ndarray, p: float = p, cos_i: float = cos_i) -> np.ndarray:
            return 1.0 - _limb_darkened_loss(
                _sky_separation(_phase(t, period, t0), a_over_r, cos_i), p, u1, u2
            )

        snr = matched_snr(flux(time), noise_rel)
        if snr >= TRANSIT_SNR_THRESHOLD:
            break
    depth = float(1.0 - flux(np.array([t0]))[0])
    truth = {"subtype": "grazing" if b > 1 - p else "planet", "radius_ratio": p, "impact": b}
    return Variable("transit", period, flux, truth | {"depth": depth, "snr": snr})


def _detached(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """Two eclipsing disks on a near-circular orbit with ellipsoidal, reflection and third light."""
    period = log_uniform(rng, 0.6, 12.0)
    t0 = float(time[0] + rng.uniform(0, period))
    r1 = float(rng.uniform(0.05, 0.25))  # primary radius / separation
    r2 = r1 * float(rng.uniform(0.35, 1.0))
    brightness = float(rng.uniform(0.15, 1.0))  # secondary / primary surface brightness
    cos_i = float(rng.uniform(0.0, 0.95 * (r1 + r2)))
    secondary_phase = 0.5 + 2.0 / np.pi * float(rng.uniform(-0.03, 0.03))  # e cos w shift
    third = log_uniform(rng, 0.5, 10.0) if rng.random() < 0.2 else 0.0  # blended light / binary's
    ellipsoidal = float(rng.uniform(0.3, 1.5)) * (r2 / r1) * r1**3
    reflection = float(rng.uniform(0.0, 0.5)) * r2**2
    total = r1**2 + brightness * r2**2

    def flux(t: np.ndarray) -> np.ndarray:
        phase = _phase(t, period, t0)
        z1 = _sky_separation(phase, 1.0, cos_i)
        z2 = _sky_separation(_phase(t, period, t0 + secondary_phase * period), 1.0, cos_i)
        primary = overlap_area(np.where(np.isfinite(z1), z1, 1e9), r1, r2) / np.pi
        secondary = brightness * overlap_area(np.where(np.isfinite(z2), z2, 1e9), r1, r2) / np.pi
        light = 1.0 - (primary + secondary) / total
        light -= ellipsoidal * np.cos(4 * np.pi * phase) + reflection * np.cos(2 * np.pi * phase)
        return (light + third) / (1.0 + third)

    depth = float(1.0 - flux(np.array([t0]))[0])
    return Variable(
        "eclipsing_binary", period, flux, {"subtype": "detached", "depth": depth, "third_light": third}
    )


def _contact(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """W UMa binary: Rucinski's cosine series a1 cos(2 pi phi) + a2 cos(4 pi phi) + a4 cos(8 pi phi)."""
    period = log_uniform(rng, 0.22, 0.8)
    t0 = float(time[0] + rng.uniform(0, period))
    a2 = log_uniform(rng, 0.01, 0.25)  # low a2: low inclination, shallow and sinusoidal
    a4 = a2 * float(rng.uniform(0.0, 0.25))
    a1 = a2 * float(rng.uniform(0.02, 0.25))  # unequal minima: the components' temperatures differ
    b1 = a2 * float(rng.uniform(-0.05, 0.05))  # O'Connell effect: unequal maxima

    def flux(t: np.ndarray) -> np.ndarray:
        x = 2 * np.pi * _phase(t, period, t0)
        return 1.0 - a1 * np.cos(x) - a2 * np.cos(2 * x) - a4 * np.cos(4 * x) + b1 * np.sin(x)

    return Variable("eclipsing_binary", period, flux, {"subtype": "contact", "depth": a1 + a2 + a4})


def _ellipsoidal(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """Non-eclipsing close binary: tidal distortion at half the orbit, gravity darkening and beaming."""
    period = log_uniform(rng, 0.8, 5.0)
    t0 = float(time[0] + rng.uniform(0, period))
    a2 = log_uniform(rng, 1e-3, 2e-2)
    a1 = a2 * float(rng.uniform(0.2, 0.5))  # deeper minimum where the gravity-darkened pole faces us
    beaming = a2 * float(rng.uniform(0.0, 0.2))

    def flux(t: np.ndarray) -> np.ndarray:
        x = 2 * np.pi * _phase(t, period, t0)
        return 1.0 - a2 * np.cos(2 * x) - a1 * np.cos(x) + beaming * np.sin(x)

    return Variable("eclipsing_binary", period, flux, {"subtype": "ellipsoidal", "depth": a1 + a2})


def eclipsing_binary(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """Detached (55 %), contact (35 %) or ellipsoidal (10 %) binary; period is the orbital one."""
    draw = rng.random()
    if draw < 0.55:
        return _detached(time, rng)
    return _contact(time, rng) if draw < 0.9 else _ellipsoidal(time, rng)


def _magnitudes_to_flux(delta_mag: np.ndarray) -> np.ndarray:
    return 10.0 ** (-0.4 * delta_mag)


def _rr_lyrae(time: np.ndarray, rng: np.random.Generator, overtone: bool) -> Variable:
    """RRab: a smoothed sawtooth (rapid rise, slow decline; R21 ~ 1/2, R31 ~ 1/3); RRc: near-sinusoidal."""
    period = log_uniform(rng, 0.25, 0.45) if overtone else log_uniform(rng, 0.45, 0.9)
    t0 = float(time[0] + rng.uniform(0, period))
    amplitude = float(rng.uniform(0.2, 0.5) if overtone else rng.uniform(0.3, 1.0))  # peak-to-peak mag
    damping = float(rng.uniform(0.1, 0.3) if overtone else rng.uniform(0.75, 0.9))  # harmonic fall-off
    blazhko = not overtone and rng.random() < 0.4
    b_period = log_uniform(rng, 20.0, 200.0)  # Blazhko cycle, days
    b_depth = float(rng.uniform(0.05, 0.3)) if blazhko else 0.0  # its amplitude modulation
    b_phase = float(rng.uniform(0, 2 * np.pi))
    orders = np.arange(1, 9)
    weights = damping ** (orders - 1) / orders  # sawtooth series sum sin(k x)/k, smoothed
    scale = amplitude / np.ptp(np.sin(np.outer(np.linspace(0, 2 * np.pi, 512), orders)) @ weights)

    def flux(t: np.ndarray) -> np.ndarray:
        modulation = 1.0 + b_depth * np.sin(2 * np.pi * t / b_period + b_phase)
        x = 2 * np.pi * (_phase(t, period, t0) + 0.02 * (modulation - 1.0))
        brightening = np.sin(x[..., None] * orders) @ weights  # high right after the rise at phase 0
        return _magnitudes_to_flux(-scale * modulation * brightening)

    mean = float(flux(time).mean())
    subtype = "RRc" if overtone else "RRab"
    truth = {
        "subtype": subtype,
        "amplitude_mag": amplitude,
        "blazhko_period_days": b_period if blazhko else 0.0,
    }
    return Variable("pulsator", period, lambda t: flux(t) / mean, truth)


def _delta_scuti(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """Multi-periodic p modes: a dominant one below the Nyquist frequency, 2-7 weaker ones anywhere."""
    period = log_uniform(rng, *DELTA_SCUTI_PERIOD_RANGE)
    n_extra = int(rng.integers(2, 8))
    frequencies = np.concatenate([[1.0 / period], rng.uniform(0.7, 1.8, n_extra) / period])
    amplitude = log_uniform(rng, 1e-3, 3e-2)  # relative flux of the dominant mode
    amplitudes = amplitude * np.concatenate([[1.0], rng.uniform(0.05, 0.5, n_extra)])
    phases = rng.uniform(0, 2 * np.pi, n_extra + 1)

    def flux(t: np.ndarray) -> np.ndarray:
        return 1.0 + np.sin(2 * np.pi * t[..., None] * frequencies + phases) @ amplitudes

    return Variable(
        "pulsator", period, flux, {"subtype": "delta_scuti", "amplitude": amplitude, "n_modes": n_extra + 1}
    )


def pulsator(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """RRab (35 %), RRc (15 %) or delta Scuti (50 %)."""
    draw = rng.random()
    if draw < 0.5:
        return _delta_scuti(time, rng)
    return _rr_lyrae(time, rng, overtone=draw < 0.65)


def rotation(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """Starspots emerging and decaying on a differentially rotating star; period 1-30 d.

    Each spot darkens the disk by its area times its foreshortening and limb darkening while
    on the visible hemisphere, and rotates at its latitude's period
    P_eq / (1 - alpha sin^2 latitude). The catalogue period is the spots' mean period weighted
    by how much modulation each contributes, as a periodogram would measure it.
    """
    period = log_uniform(rng, 1.0, 30.0)
    n = int(rng.integers(2, 7))
    cos_inc = float(rng.uniform(0.0, 0.9))
    sin_inc = np.sqrt(1.0 - cos_inc**2)
    shear = float(rng.uniform(0.0, 0.15))
    latitude = np.radians(rng.uniform(-30.0, 30.0, n))
    spot_periods = period / (1.0 - shear * np.sin(latitude) ** 2)
    longitude = rng.uniform(0, 2 * np.pi, n)
    lifetime = rng.uniform(15.0, 80.0, n)  # e-folding of the spot area, days
    peak_time = rng.uniform(time[0] - 20.0, time[-1] + 20.0, n)
    size = rng.uniform(0.2, 1.0, n)

    def darkening(t: np.ndarray) -> np.ndarray:
        tt = t[..., None]
        visible = cos_inc * np.sin(latitude) + sin_inc * np.cos(latitude) * np.cos(
            longitude + 2 * np.pi * tt / spot_periods
        )
        mu = np.clip(visible, 0.0, None)
        area = size * np.exp(-(((tt - peak_time) / lifetime) ** 2))
        return (area * mu * (1.0 - 0.6 * (1.0 - mu))).sum(axis=-1)

    raw = darkening(time)
    amplitude = log_uniform(rng, 1.5e-3, 3e-2)  # peak-to-peak relative flux over the quarter
    scale = amplitude / max(float(np.ptp(raw)), 1e-12)
    weights = size * lifetime
    measured = float(np.sum(weights * spot_periods) / np.sum(weights))
    truth = {"equatorial_period_days": period, "amplitude": amplitude, "shear": shear, "n_spots": n}
    return Variable("rotation", measured, lambda t: 1.0 - scale * darkening(t), truth)


def quiet(time: np.ndarray, rng: np.random.Generator) -> Variable:
    """No astrophysical signal beyond the granulation and noise every light curve gets."""
    return Variable("quiet", None, lambda t: np.ones_like(t, dtype=np.float64), {})


def draw_variable(kind: str, time: np.ndarray, noise_rel: float, rng: np.random.Generator) -> Variable:
    """A star of class ``kind`` observed at ``time`` (days) with white noise ``noise_rel`` per cadence."""
    if kind == "transit":
        return transit(time, noise_rel, rng)
    drawers = {
        "eclipsing_binary": eclipsing_binary,
        "pulsator": pulsator,
        "rotation": rotation,
        "quiet": quiet,
    }
    if kind not in drawers:
        raise ValueError(f"unknown variability class {kind!r}; expected one of transit, {', '.join(drawers)}")
    return drawers[kind](time, rng)
