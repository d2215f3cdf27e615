"""The configuration's plasticity and neuromodulator switches act on the column itself."""

import numpy as np
import pytest

from brainstar.domain.cortex import column_learning
from brainstar.domain.cortex.config import ColumnConfig, PlasticityConfig
from brainstar.domain.cortex.network import build_network
from brainstar.domain.cortex.neuromodulation import GAINS, modulate_network
from brainstar.domain.cortex.simulation import simulate

SMALL = ColumnConfig(n_scaling=0.05, k_scaling=0.1, t_sim_ms=400.0, warmup_ms=100.0, seed=3)


def _mean_rate(config: ColumnConfig) -> float:
    populations = simulate(config)["populations"]
    return float(np.mean([p["rate_hz"] for p in populations.values()]))


def test_acetylcholine_scales_only_recurrent_excitation() -> None:
    network = build_network(SMALL)
    modulated = modulate_network(network, PlasticityConfig(acetylcholine=1.0))
    excitatory = network.weights > 0
    factor = 1.0 - GAINS.ach_recurrent_suppression
    assert np.allclose(modulated.weights[excitatory], network.weights[excitatory] * factor, rtol=1e-6)
    assert np.array_equal(modulated.weights[~excitatory], network.weights[~excitatory])
    assert modulated.weight_ext_pa == network.weight_ext_pa  # afferent drive untouched


def test_norepinephrine_is_a_gain_on_every_input() -> None:
    network = build_network(SMALL)
    modulated = modulate_network(network, PlasticityConfig(norepinephrine=1.0))
    gain = 1.0 + GAINS.ne_gain
    assert np.allclose(modulated.weights, network.weights * gain, rtol=1e-6)
    assert modulated.weight_ext_pa == pytest.approx(network.weight_ext_pa * gain)
    assert modulate_network(network, PlasticityConfig()) is network  # no modulator: same network


def test_modulators_move_the_simulated_column_in_their_directions() -> None:
    baseline = _mean_rate(SMALL)
    aroused = _mean_rate(SMALL.with_(plasticity=PlasticityConfig(norepinephrine=1.0)))
    cholinergic = _mean_rate(SMALL.with_(plasticity=PlasticityConfig(acetylcholine=1.0)))
    assert aroused > baseline  # more gain on input: more spikes
    assert cholinergic < baseline  # less recurrent excitation: fewer spikes


def test_plasticity_off_means_no_learning() -> None:
    images, labels = column_learning.load_digit_images()
    learned = {}
    for stdp in (True, False):
        config = ColumnConfig(n_scaling=0.02, plasticity=PlasticityConfig(stdp=stdp, dopamine=False))
        task = column_learning.task_for(config)
        column = column_learning.build_task_column(task, seed=0)
        before = column.simulator.plastic_weights.copy()
        for i in range(3):
            column_learning.present(column, images[i], task, label=int(labels[i]))
        # The rule scales by w_max and back, as NEST's does: a still weight moves by rounding only.
        learned[stdp] = not np.allclose(column.simulator.plastic_weights, before, rtol=1e-12, atol=0.0)
    # Off, the thalamocortical synapses never move (the digit gate then fails, as it must).
    assert learned == {True: True, False: False}


def test_acetylcholine_reaches_the_learning_rule() -> None:
    base = column_learning.task_for(ColumnConfig())
    on = column_learning.task_for(ColumnConfig(plasticity=PlasticityConfig(acetylcholine=1.0)))
    assert on.rule.lambda_ == pytest.approx(base.rule.lambda_ * (1 + GAINS.ach_learning_boost))
