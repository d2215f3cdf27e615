"""The demo's light-curve forward model and Kepler systematics, and the preparation that copes with them."""

from __future__ import annotations

import numpy as np
import pytest

from brainstar.demo.astro import kepler, physics, variability
from brainstar.domain.astro import lightcurves, periods
from brainstar.domain.astro.formats import LC_CLASSES

KEPLER_TIME = 169.765 + physics.KEPLER_CADENCE_DAYS * np.arange(physics.KEPLER_N_CADENCES)


def test_overlap_area_of_two_disks() -> None:
    d = np.array([0.0, np.sqrt(2.0), 2.0, 3.0])
    area = variability.overlap_area(d, 1.0, 1.0)
    assert area == pytest.approx([np.pi, np.pi / 2 - 1.0, 0.0, 0.0])
    # A small disk well inside a large one is hidden whole.
    assert variability.overlap_area(np.array([0.5]), 1.0, 0.1)[0] == pytest.approx(np.pi * 0.01)


def test_central_transit_depth_follows_the_limb_darkening_law() -> None:
    p, u1, u2 = 0.1, 0.4, 0.25
    depth = variability._limb_darkened_loss(np.array([0.0]), p, u1, u2)[0]
    assert depth == pytest.approx(p**2 / (1 - u1 / 3 - u2 / 6))  # centre: intensity 1 over the mean
    limb = variability._limb_darkened_loss(np.array([0.95]), p, u1, u2)[0]
    assert 0 < limb < 0.8 * depth  # the same planet near the limb hides dimmer surface


def test_exposure_integration_damps_a_fast_pulsation_as_a_sinc() -> None:
    frequency = 20.0  # cycles per day, below the long-cadence Nyquist frequency (24.5)
    star = variability.Variable(
        "pulsator", 1 / frequency, lambda t: 1 + 0.01 * np.sin(2 * np.pi * frequency * t)
    )
    observed = variability.observe(star, KEPLER_TIME, physics.KEPLER_CADENCE_DAYS)
    amplitude = np.sqrt(2) * np.std(observed - 1)
    x = np.pi * frequency * physics.KEPLER_CADENCE_DAYS
    assert amplitude == pytest.approx(0.01 * np.sin(x) / x, rel=0.02)


@pytest.mark.parametrize("kind", LC_CLASSES)
def test_every_class_draws_a_signal_and_its_catalogue_period(kind: str) -> None:
    rng = np.random.default_rng(4)
    for _ in range(5):
        star = variability.draw_variable(kind, KEPLER_TIME, 1e-4, rng)
        flux = variability.observe(star, KEPLER_TIME, physics.KEPLER_CADENCE_DAYS)
        assert star.kind == kind and np.all(np.isfinite(flux)) and np.all(flux > 0)
        if kind == "quiet":
            assert star.period_days is None and np.all(flux == 1.0)
            continue
        assert 0.04 < star.period_days < 31.0
        assert np.ptp(flux) > 1e-4
        if star.truth.get("subtype") == "delta_scuti":
            assert star.period_days > 2 * physics.KEPLER_CADENCE_DAYS  # below the Nyquist frequency


def test_transits_are_drawn_above_the_catalogue_threshold() -> None:
    rng = np.random.default_rng(6)
    snrs = [variability.transit(KEPLER_TIME, 3e-4, rng).truth["snr"] for _ in range(20)]
    assert min(snrs) >= variability.TRANSIT_SNR_THRESHOLD
    assert min(snrs) < 2 * variability.TRANSIT_SNR_THRESHOLD  # and some are near the noise


def test_kepler_quarter_has_flagged_gaps_dumps_and_partly_corrected_pdcsap() -> None:
    lc, truth = kepler.kepler_lightcurve(1234567, "quiet", np.random.default_rng(8))
    gap = np.isnan(lc.pdcsap_flux)
    assert (
        2 * 48 <= gap.sum() <= 2 * 49 + 4.0 / physics.KEPLER_CADENCE_DAYS
    )  # two downlinks, maybe a safe mode
    assert np.all(lc.sap_quality[gap] & kepler.NO_DATA) and np.all(np.isnan(lc.sap_flux[gap]))
    dumps = np.flatnonzero(lc.sap_quality & kepler.DESAT)
    assert np.median(np.diff(lc.time_bkjd[dumps])) == pytest.approx(3.0, abs=0.05)
    # Every flag the demo sets is masked by default except zero crossings (jitter only).
    flags = np.bitwise_or.reduce(lc.sap_quality)
    assert flags & ~lightcurves.DEFAULT_QUALITY_BITMASK == kepler.ZERO_CROSSING
    # PDC removed most of the instrument's drift: its flux wanders less than SAP's.
    ok = ~gap & (lc.sap_quality == 0)
    sap, pdc = (
        lc.sap_flux[ok] / np.nanmedian(lc.sap_flux[ok]),
        lc.pdcsap_flux[ok] / np.nanmedian(lc.pdcsap_flux[ok]),
    )
    assert np.std(pdc) < np.std(sap)
    assert np.nanmedian(lc.sap_flux / lc.pdcsap_flux) == pytest.approx(
        kepler.APERTURE_CARDS["FLFRCSAP"], rel=0.03
    )
    assert truth["class"] == "quiet" and truth["period_days"] is None


def test_settling_cadences_after_gaps_are_dropped() -> None:
    time = np.concatenate([np.arange(0.0, 10.0, 0.02), np.arange(11.0, 20.0, 0.02)])
    keep = lightcurves.settled(time)
    assert not keep[time < 0.5].any() and not keep[(time >= 11.0) & (time < 11.5)].any()
    assert keep[(time >= 0.5) & (time < 10.0)].all() and keep[time >= 11.5].all()


def test_systematics_normalise_removes_ramps_and_drift_but_keeps_a_rotation() -> None:
    time = KEPLER_TIME[(KEPLER_TIME < 200) | (KEPLER_TIME > 201)]
    starts = lightcurves.segment_starts(time)
    ramps = (
        1.0
        + 3e-3 * np.exp(-(time - time[0]) / 0.8)
        - 4e-3 * np.exp(-np.clip(time - 201.0, 0, None)) * (time > 201)
    )
    drift = 1.0 + 5e-3 * ((time - time[0]) / 90.0) ** 2
    assert np.std(lightcurves.systematics_normalise(time, ramps * drift, starts) - 1.0) < 2e-5
    rotation = 1.0 + 2e-3 * np.sin(2 * np.pi * time / 12.0)
    norm = lightcurves.systematics_normalise(time, rotation * ramps * drift, starts)
    # The day-scale ramps take up part of a slow signal near the gaps, not its period.
    assert np.std(norm - rotation) < 0.35 * np.std(rotation)
    assert periods.lomb_scargle(time, norm)[0] == pytest.approx(12.0, rel=0.02)


def test_lomb_scargle_places_long_and_short_periods_within_the_recovery_tolerance() -> None:
    rng = np.random.default_rng(3)
    for period in (0.05, 17.0, 27.0):
        flux = 1 + 2e-3 * np.sin(2 * np.pi * KEPLER_TIME / period) + rng.normal(0, 2e-4, KEPLER_TIME.size)
        assert periods.lomb_scargle(KEPLER_TIME, flux)[0] == pytest.approx(period, rel=0.01)


def test_coherence_and_half_difference_tell_binaries_from_pulsators_and_noise() -> None:
    rng = np.random.default_rng(5)
    t = KEPLER_TIME
    pulsation = 1 + 0.01 * np.sin(2 * np.pi * t / 0.6)
    # A contact binary: the LS peak is at half the orbit and the two minima differ.
    binary = 1 - 0.05 * np.cos(4 * np.pi * t / 1.2) - 0.01 * np.cos(2 * np.pi * t / 1.2)
    noise = 1 + rng.normal(0, 1e-3, t.size)
    assert periods.coherence(t, pulsation, 0.6) > 0.99 and periods.coherence(t, noise, 0.6) < 0.05
    assert periods.half_difference(t, pulsation, 0.6, t[0]) < 0.05
    assert periods.half_difference(t, binary, 0.6, t[0]) > 0.2
