"""The Gurney, Prescott & Redgrave (2001) basal ganglia: dynamics, the three gates, and circuits made
to fail each of them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from brainstar.core.figures import PNG_SIGNATURE
from brainstar.domain.regions import basal_ganglia as bg
from brainstar.domain.regions.basal_ganglia_report import gpi_traces_png

THRESHOLD = bg.selection_threshold()
PROTOCOL = bg.protocol_saliences()


@pytest.fixture(scope="module")
def published() -> bg.BasalGangliaValidation:
    return bg.validate()


def _gates(params: bg.BasalGangliaParams) -> dict[str, bool]:
    return {gate.name: gate.passed for gate in bg.validate(params).gates}


def test_tonic_output_matches_the_closed_form_fixed_point() -> None:
    # At zero salience, with STN and GPe in their linear ranges and n = 6 channels:
    # s = 0.25 - g, g = 0.2 + 0.9 n s  =>  s = 0.05 / (1 + 0.9 n); GPi = 0.2 + 0.9 n s - 0.3 g.
    n = bg.PROTOCOL_N_CHANNELS
    stn = 0.05 / (1 + 0.9 * n)
    gpe = 0.25 - stn
    assert bg.tonic_gpi_output(n) == pytest.approx(0.2 + 0.9 * n * stn - 0.3 * gpe, abs=1e-9)
    assert abs(THRESHOLD - bg.SELECTION_FRACTION * 0.16953125) < 1e-9


def test_every_phase_of_the_protocol_ends_at_steady_state(published: bg.BasalGangliaValidation) -> None:
    for result in published.results.values():
        assert result.converged, result.residual
        assert result.gpi.shape == (5 * 100, bg.PROTOCOL_N_CHANNELS)
        np.testing.assert_allclose(result.gpi[99::100], result.phase_gpi)


def test_published_circuit_passes_every_gate(published: bg.BasalGangliaValidation) -> None:
    assert published.passed, [gate for gate in published.gates if not gate.passed]
    default = published.results["default"]
    # Measured GPi outputs at lambda = 0.2 (winner, then the best-inhibited loser), phases 2 and 3.
    np.testing.assert_allclose(default.phase_gpi[1, :2], [0.085, 0.329], atol=1e-3)
    np.testing.assert_allclose(default.phase_gpi[2, :2], [0.2335, 0.0415], atol=1e-3)
    assert default.selected(THRESHOLD) == [(), (0,), (1,), (0, 1), (1,)]


def test_selection_gate_fails_without_the_stn_to_gpi_excitation() -> None:
    # Without the diffuse STN excitation nothing holds the losers' GPi output up: all are "selected".
    gates = _gates(dataclasses.replace(bg.GPR2001, w_stn_gpi=0.0))
    assert gates["bg_selection"] is False


def test_selection_gate_fails_with_all_weights_equal() -> None:
    gates = _gates(dataclasses.replace(bg.GPR2001, w_stn_gpe=1.0, w_stn_gpi=1.0, w_gpe_gpi=-1.0))
    assert gates["bg_selection"] is False


def test_switching_gate_fails_when_the_selection_pathway_overpowers_the_stn() -> None:
    # D1 -> GPi doubled: channel 1 is still selected alone first, but channel 2's arrival no longer
    # lifts channel 1's GPi output above threshold, so both stay selected.
    params = dataclasses.replace(bg.GPR2001, w_d1_gpi=-2.0)
    result = bg.simulate(PROTOCOL, bg.DOPAMINE_DEFAULT, params)
    assert result.selected(THRESHOLD)[1:3] == [(0,), (0, 1)]
    gate = bg.switching_gate(result, THRESHOLD)
    assert not gate.passed and "{ch1} -> {ch1, ch2}" in gate.detail


def test_dopamine_gate_fails_with_the_d1_d2_signs_swapped() -> None:
    params = dataclasses.replace(bg.GPR2001, d1_dopamine_sign=-1.0, d2_dopamine_sign=1.0)
    gate = bg.validate(params).gates[2]
    assert gate.name == "bg_dopamine" and not gate.passed
    assert "never lets two channels through" in gate.detail


def test_dopamine_gate_fails_when_low_dopamine_still_selects() -> None:
    low = bg.simulate(PROTOCOL, 0.2)
    high = bg.simulate(PROTOCOL, bg.DOPAMINE_HIGH)
    assert not bg.dopamine_gate(low, high, THRESHOLD).passed


def test_dopamine_window_of_clean_selection() -> None:
    """Clean selection and switching for lambda 0.1-0.3; none below; two channels at once above."""
    for level, expected in [(0.05, "none"), (0.1, "clean"), (0.3, "clean"), (0.35, "both")]:
        phase_3 = bg.simulate(PROTOCOL, level).selected(THRESHOLD)[2]
        assert phase_3 == {"none": (), "clean": (1,), "both": (0, 1)}[expected], level


@pytest.mark.parametrize("fraction", [0.51, 0.99])
def test_verdicts_do_not_hinge_on_the_threshold_fraction(fraction: float) -> None:
    threshold = bg.selection_threshold(fraction=fraction)
    results = {name: bg.simulate(PROTOCOL, level) for name, level in bg.DOPAMINE_LEVELS.items()}
    assert bg.selection_gate(results["default"], threshold).passed
    assert bg.switching_gate(results["default"], threshold).passed
    assert bg.dopamine_gate(results["low"], results["high"], threshold).passed


def test_simulation_is_vectorised_over_channels_and_scales_with_their_number() -> None:
    # Capacity scaling (GPR 2001b): more channels, more diffuse STN drive, higher tonic GPi output;
    # the most salient channel is still the only one selected.
    for n in (3, 12):
        threshold = bg.selection_threshold(n)
        result = bg.simulate(bg.protocol_saliences(n), bg.DOPAMINE_DEFAULT)
        assert result.phase_gpi.shape == (5, n)
        assert bg.selection_gate(result, threshold).passed
    assert bg.tonic_gpi_output(3) < bg.tonic_gpi_output(12)


@pytest.mark.parametrize(
    ("saliences", "kwargs", "match"),
    [
        (np.zeros(6), {}, "phases, channels"),
        (np.full((2, 3), np.nan), {}, "finite"),
        (np.zeros((2, 3)), {"phase_duration": 0.015}, "multiple of dt"),
    ],
)
def test_simulate_rejects_bad_input(saliences: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bg.simulate(saliences, 0.2, **kwargs)


def test_gpi_figure_renders(published: bg.BasalGangliaValidation) -> None:
    png = gpi_traces_png(published)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
