"""The numba engine: exact integration, determinism, and agreement with NEST on the same config."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from brainstar.domain.cortex import gates
from brainstar.domain.cortex.config import ColumnConfig, NeuronParams
from brainstar.domain.cortex.engine_numba import EngineRun, propagators, run_plain, simulate_network
from brainstar.domain.cortex.network import build_network
from brainstar.domain.cortex.simulation import simulate


def test_dc_driven_neuron_fires_with_the_analytic_period() -> None:
    neuron, dt = NeuronParams(), 0.1
    prop = propagators(neuron, dt)
    currents = np.array([400.0, 500.0, 800.0])  # pA, above the 375 pA rheobase
    empty = (np.zeros(4, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.uint8))
    steps, ids = run_plain(empty, np.zeros(3), currents, np.zeros(3), 0.0, prop, 20_000, 0, 0, dt)
    r_m = neuron.tau_m_ms / neuron.c_m_pf  # GOhm, so pA * GOhm = mV
    for i, current in enumerate(currents):
        isi = np.diff(steps[ids == i]) * dt
        to_threshold = neuron.tau_m_ms * math.log(current * r_m / (current * r_m - prop.theta))
        expected = neuron.t_ref_ms + math.ceil(to_threshold / dt - 1e-9) * dt
        np.testing.assert_allclose(isi, expected, atol=1e-9)


def test_simulation_is_deterministic_and_thread_count_free() -> None:
    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, t_sim_ms=300.0, warmup_ms=100.0, seed=9)
    net = build_network(config)
    run = EngineRun.of(config)
    one = simulate_network(net, run, threads=1)
    two = simulate_network(net, run, threads=2)
    other = simulate_network(net, replace(run, seed=10), threads=1)
    assert one.senders.size > 100
    np.testing.assert_array_equal(one.senders, two.senders)
    np.testing.assert_array_equal(one.times_ms, two.times_ms)
    assert not np.array_equal(one.senders, other.senders)
    assert one.times_ms.min() >= 100.0


def test_rates_agree_with_nest_on_the_same_configuration() -> None:
    config = ColumnConfig(n_scaling=0.1, k_scaling=0.1, t_sim_ms=1000.0, warmup_ms=500.0, seed=5, threads=2)
    path = gates.find_reference(config.n_scaling, config.k_scaling)
    assert path is not None, "the committed NEST reference for N=K=0.1 is missing"
    result = simulate(config)
    pops = list(result["populations"])
    gate = gates.rate_gate(
        pops, [result["populations"][p]["rate_hz"] for p in pops], json.loads(path.read_text())
    )
    assert gate.passed, gate.detail
    assert set(result) >= {"populations", "sim_wall_seconds", "n_synapses"}
    assert result["populations"]["L4E"]["spike_count"] > 0


def test_dc_background_option_runs_and_stays_plausible() -> None:
    result = simulate(
        ColumnConfig(n_scaling=0.05, k_scaling=0.1, t_sim_ms=500.0, warmup_ms=200.0, poisson_input=False)
    )
    rates = [v["rate_hz"] for v in result["populations"].values()]
    assert 0.0 < np.mean(rates) < 30.0
    assert result["config"]["poisson_input"] is False


@pytest.mark.parametrize("engine", ["fortran"])
def test_unknown_engine_is_rejected(engine: str) -> None:
    with pytest.raises(ValueError, match="engine"):
        simulate(ColumnConfig(n_scaling=0.02, t_sim_ms=10.0, warmup_ms=0.0), engine=engine)
