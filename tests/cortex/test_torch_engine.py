"""The torch engine against the numba engine, statistically, and its plastic synapses against the
replay of their own spikes (runs on CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from brainstar.domain.cortex import metrics, sources
from brainstar.domain.cortex import synapse_rules as rules
from brainstar.domain.cortex.config import ColumnConfig, PlasticityConfig
from brainstar.domain.cortex.engine_numba import EngineRun
from brainstar.domain.cortex.engine_torch import TorchColumnSimulator, simulate_network_torch
from brainstar.domain.cortex.network import build_network
from brainstar.domain.cortex.plastic_network import PlasticProjection, make_plastic
from brainstar.domain.cortex.simulation import run_engine

# Bi & Poo's window as NEST's stdp_synapse (the numba engine's test uses the same).
BI_POO = rules.StdpSynapseParams(tau_plus_ms=16.8, lambda_=0.05, alpha=1.05, mu_plus=0.0, mu_minus=0.0)


def test_torch_rates_match_numba_within_tolerance() -> None:
    config = ColumnConfig(n_scaling=0.03, k_scaling=0.1, t_sim_ms=600.0, warmup_ms=200.0, seed=2)
    net = build_network(config)
    numba_rates = metrics.population_rates_hz(run_engine(config, net, "numba"))
    torch_spikes = run_engine(config, net, "torch", device="cpu")
    torch_rates = metrics.population_rates_hz(torch_spikes)
    # Different random streams: rates agree within 20 % or 0.5 Hz (finite-sample noise at this size).
    tolerance = np.maximum(0.2 * numba_rates, 0.5)
    assert np.all(np.abs(torch_rates - numba_rates) <= tolerance), (numba_rates, torch_rates)
    assert torch_spikes.times_ms.min() >= 200.0


def test_torch_sources_fire_at_the_rate_they_are_given() -> None:
    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, seed=5, warmup_ms=0.0)
    network = sources.add_thalamus(build_network(config), config, seed=3)
    simulator = TorchColumnSimulator(network, EngineRun.of(config))
    first_source = network.n_neurons - network.n_sources
    _, ids = simulator.advance(200.0)
    assert not (ids >= first_source).any()  # rate 0 until set
    simulator.source_rate_hz = np.full(network.n_sources, 60.0)
    _, ids = simulator.advance(1000.0)
    # 18 sources x 60 Hz x 1 s: ~1080 spikes, Poisson SD ~3 %.
    assert np.sum(ids >= first_source) / network.n_sources == pytest.approx(60.0, rel=0.1)


def test_torch_simulator_in_chunks_equals_one_run_and_the_static_engine() -> None:
    """State is kept between chunks, and ``simulate_network_torch`` is that simulator."""
    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, t_sim_ms=200.0, warmup_ms=100.0, seed=6)
    network = build_network(config)
    run = EngineRun.of(config)
    whole = simulate_network_torch(network, run)
    simulator = TorchColumnSimulator(network, run)
    chunks = [simulator.advance(150.0, record_from_step=1000) for _ in range(2)]
    steps, ids = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
    assert whole.senders.size > 100
    np.testing.assert_array_equal((steps + 1) * network.dt_ms, whole.times_ms)
    np.testing.assert_array_equal(ids, whole.senders)


def test_run_engine_learns_in_the_column_on_torch() -> None:
    config = ColumnConfig(
        n_scaling=0.02, k_scaling=0.1, t_sim_ms=200.0, warmup_ms=0.0, seed=7,
        plasticity=PlasticityConfig(in_column=True),
    )  # fmt: skip
    spikes = run_engine(config, build_network(config), "torch", device="cpu")
    assert set(spikes.learned) == {"L4E->L23E", "L23E->L23E"}
    assert spikes.plastic_weights is not None and np.isfinite(spikes.plastic_weights).all()


def test_frozen_torch_synapses_keep_their_weights() -> None:
    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, seed=8, warmup_ms=0.0)
    network = make_plastic(build_network(config), (PlasticProjection("L4E", "L23E", BI_POO),))
    simulator = TorchColumnSimulator(network, EngineRun.of(config))
    simulator.advance(200.0)
    learned = simulator.plastic_weights
    assert not np.array_equal(learned, network.plastic.weights0)
    simulator.freeze_plasticity()
    simulator.advance(200.0)
    # w / Wmax * Wmax, as NEST computes it, may move a weight by an ulp: not learning.
    np.testing.assert_allclose(simulator.plastic_weights, learned, rtol=1e-12)
