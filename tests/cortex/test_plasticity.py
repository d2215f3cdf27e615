"""STDP window recovery, the three-factor rule, the distal-reward experiment, neuromodulators."""

from __future__ import annotations

import numpy as np
import pytest

from brainstar.domain.cortex import neuromodulation, plasticity
from brainstar.domain.cortex.validation import STDP_DELTAS_MS


@pytest.mark.parametrize("rule", ["song2000", "bipoo"])
def test_pairing_protocol_recovers_configured_time_constants(rule: str) -> None:
    params = plasticity.RULES[rule]
    dw = plasticity.pairing_protocol(params, STDP_DELTAS_MS, seed=1)
    assert np.all(dw[STDP_DELTAS_MS > 0] > 0) and np.all(dw[STDP_DELTAS_MS < 0] < 0)
    fit = plasticity.fit_stdp_window(STDP_DELTAS_MS, dw)
    assert fit.tau_plus_ms == pytest.approx(params.tau_plus_ms, rel=0.1)
    assert fit.tau_minus_ms == pytest.approx(params.tau_minus_ms, rel=0.1)
    # Song et al. 2000: depression dominates (integral of the window is negative).
    assert params.a_minus * params.tau_minus_ms > params.a_plus * params.tau_plus_ms


def test_window_fit_detects_a_wrong_time_constant() -> None:
    wrong = plasticity.StdpParams(0.005, 0.00525, 25.0, 33.7)
    fit = plasticity.fit_stdp_window(STDP_DELTAS_MS, plasticity.pairing_protocol(wrong, STDP_DELTAS_MS))
    assert abs(fit.tau_plus_ms - plasticity.BI_POO.tau_plus_ms) / plasticity.BI_POO.tau_plus_ms > 0.1


def test_three_factor_closed_form_matches_integration() -> None:
    for delay in (0.0, 1000.0, 2500.0):
        closed = plasticity.three_factor_weight_change(0.1, delay, 0.5, 1000.0, 200.0)
        assert plasticity.three_factor_simulated(0.1, delay, 0.5, 1000.0, 200.0) == pytest.approx(
            closed, rel=2e-3
        )


@pytest.mark.slow
def test_distal_reward_grows_the_rewarded_synapse_only() -> None:
    rewarded = plasticity.distal_reward_experiment(t_sec=1200, n_exc=200, n_inh=50, m=100, seed=1)
    assert rewarded.n_rewards > 20
    assert rewarded.rewarded.max() >= 0.9 * rewarded.s_max
    assert abs(rewarded.others_mean[-1] - 1.0) <= 0.5
    # Control: same network and protocol without dopamine bursts - the synapse does not grow.
    silent = plasticity.DaStdpParams(da_per_reward=0.0)
    control = plasticity.distal_reward_experiment(
        t_sec=1200, n_exc=200, n_inh=50, m=100, seed=1, params=silent
    )
    assert control.rewarded.max() < 0.5 * control.s_max


def test_neuromodulators_move_in_documented_directions() -> None:
    effects = neuromodulation.measure_all(seed=0)
    for name, effect in effects.items():
        assert effect["expected"] == "increase"
        assert effect["high"] > effect["low"], name
    credit = neuromodulation.serotonin_credit(1.0)
    assert credit["discount_per_s"] > neuromodulation.serotonin_credit(0.0)["discount_per_s"]
