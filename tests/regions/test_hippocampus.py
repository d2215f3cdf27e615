"""The hippocampus: the theta-gamma network's gates and the CA3 pattern-completion gate, each with
a model made to fail it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from brainstar.core.figures import PNG_SIGNATURE
from brainstar.domain.regions import hippocampus as hc
from brainstar.domain.regions.hippocampus_report import recall_curve_png, theta_gamma_png

# --- analysis functions on signals whose answer is known -------------------------------------


def test_modulation_index_is_zero_for_flat_and_one_for_single_bin_amplitude() -> None:
    phase = np.linspace(-np.pi, np.pi, 18 * 100, endpoint=False)
    assert hc.modulation_index(phase, np.ones_like(phase)) == pytest.approx(0.0, abs=1e-12)
    one_bin = np.where(phase < -np.pi + 2 * np.pi / 18, 1.0, 0.0)
    assert hc.modulation_index(phase, one_bin) == pytest.approx(1.0, abs=1e-12)


def test_pac_measures_coupling_in_a_synthetic_signal_and_not_without_it() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(0, 3.0, 1 / hc.LFP_RATE_HZ)
    # A theta whose frequency wanders (6-10 Hz), as in vivo: a strictly periodic one would make
    # the time-shifted surrogates realign with it every cycle.
    theta = np.sin(np.cumsum(2 * np.pi * (8 + 2 * np.sin(2 * np.pi * 0.4 * t))) / hc.LFP_RATE_HZ)
    gamma = 0.3 * np.sin(2 * np.pi * 50 * t)
    noise = 0.05 * rng.standard_normal(t.size)
    phase, amp = hc.phase_amplitude(theta + (1 + theta) * gamma + noise, hc.THETA_BAND, hc.GAMMA_BAND)
    coupled = hc.modulation_index(phase, amp)
    assert coupled > 3 * np.percentile(hc.surrogate_modulation_indices(phase, amp), 95)
    phase, amp = hc.phase_amplitude(theta + gamma + noise, hc.THETA_BAND, hc.GAMMA_BAND)
    assert hc.modulation_index(phase, amp) < 1e-3 * coupled


def test_spectral_peak_finds_a_rhythm_and_not_a_power_law() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(0, 2.5, 1 / hc.LFP_RATE_HZ)
    brown = np.cumsum(rng.standard_normal(t.size))
    freq, ratio = hc.spectral_peak(*hc.lfp_spectrum(brown + 20 * np.sin(2 * np.pi * 40 * t)), hc.GAMMA_BAND)
    assert abs(freq - 40) < 2.5 and ratio > 10 * hc.PEAK_RATIO_THRESHOLD
    assert hc.spectral_peak(*hc.lfp_spectrum(brown), hc.THETA_BAND)[1] < hc.PEAK_RATIO_THRESHOLD


def test_rate_functions_are_finite_at_their_removable_singularities() -> None:
    v = np.array([-54.0, -52.0, -35.0, -34.0, -38.0, 25.0, 35.0, -27.0])
    for cell in (hc._Pyramidal(v.copy()), hc._Basket(v.copy()), hc._OLM(v.copy())):
        assert all(np.isfinite(x).all() for x in cell.rates(v))


# --- the theta-gamma network -----------------------------------------------------------------


@pytest.fixture(scope="module")
def network() -> hc.ThetaGammaResult:
    return hc.simulate_theta_gamma()


def _failed(params: hc.ThetaGammaParams) -> set[str]:
    return {gate.name for gate in hc.theta_gamma_gates(hc.simulate_theta_gamma(params)) if not gate.passed}


def test_published_network_passes_every_gate(network: hc.ThetaGammaResult) -> None:
    gates = {gate.name: gate for gate in hc.theta_gamma_gates(network)}
    assert all(gate.passed for gate in gates.values()), gates
    assert 4 <= gates["hippocampus_theta_peak"].measured["frequency_hz"] <= 8
    assert 40 <= gates["hippocampus_gamma_peak"].measured["frequency_hz"] <= 70
    # The coupling is well clear of chance, not a marginal pass.
    pac = gates["hippocampus_theta_gamma_pac"]
    assert pac.measured > 1.5 * pac.reference
    assert network.lfp.size == round((network.params.duration_ms - hc.TRANSIENT_MS) * hc.LFP_RATE_HZ / 1000)


def test_olm_cells_fire_once_per_theta_cycle(network: hc.ThetaGammaResult) -> None:
    times, cells = network.spikes["olm"]
    late = times >= hc.TRANSIENT_MS
    per_cell = np.bincount(cells[late], minlength=network.params.n_olm) / (
        (network.params.duration_ms - hc.TRANSIENT_MS) / 1000
    )
    assert np.all((per_cell >= hc.THETA_BAND[0]) & (per_cell <= hc.THETA_BAND[1]))


def test_theta_gate_fails_without_olm_inhibition() -> None:
    failed = _failed(dataclasses.replace(hc.ThetaGammaParams(), g_olm_pyr=0.0, g_olm_basket=0.0))
    assert "hippocampus_theta_peak" in failed


def test_gamma_gate_fails_without_basket_to_pyramidal_inhibition() -> None:
    failed = _failed(dataclasses.replace(hc.ThetaGammaParams(), g_basket_pyr=0.0))
    assert {"hippocampus_gamma_peak", "hippocampus_firing_rates"} <= failed


# --- CA3 pattern completion ------------------------------------------------------------------


def test_clipped_hebbian_weights_are_binary_symmetric_at_the_willshaw_density() -> None:
    params = hc.CA3Params()
    weights = hc.clipped_hebbian_weights(hc.store_patterns(params, np.random.default_rng(0)))
    assert set(np.unique(weights)) == {0, 1}
    np.testing.assert_array_equal(weights, weights.T)
    expected = 1 - (1 - params.coding_level**2) ** params.n_patterns
    assert weights.mean() == pytest.approx(expected, rel=0.05)


def test_ca3_completes_patterns_from_half_cues_at_the_stated_load() -> None:
    result = hc.simulate_ca3()
    gate = hc.pattern_completion_gate(result)
    assert gate.passed and gate.measured >= 0.99, gate
    # The cue alone is far from the gate: completion, not the cue, carries the overlap.
    assert result.cue_overlaps.mean() < 0.75


def test_ca3_gate_fails_far_above_capacity() -> None:
    result = hc.simulate_ca3(dataclasses.replace(hc.CA3Params(), n_patterns=2000))
    assert not hc.pattern_completion_gate(result).passed


def test_ca3_gate_fails_with_shuffled_weights() -> None:
    result = hc.simulate_ca3(shuffle_weights=True)
    assert result.synapse_fraction == pytest.approx(hc.simulate_ca3().synapse_fraction)
    assert not hc.pattern_completion_gate(result).passed


def test_recall_degrades_with_load() -> None:
    curve = hc.recall_curve((50, 300, 1000))
    assert curve[0] >= 0.99 and curve[-1] < hc.CA3_OVERLAP_THRESHOLD
    assert np.all(np.diff(curve) <= 0)


def test_report_figures_are_pngs(network: hc.ThetaGammaResult) -> None:
    assert theta_gamma_png(network).startswith(PNG_SIGNATURE)
    loads = (50, 300)
    assert recall_curve_png(loads, hc.recall_curve(loads), 50).startswith(PNG_SIGNATURE)
