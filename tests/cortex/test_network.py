"""Connectivity: exact synapse counts, weight and delay statistics, CSR layout, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.network import build_network, load_network, save_network

CONFIG = ColumnConfig(n_scaling=0.02, k_scaling=0.1, seed=3)


@pytest.fixture(scope="module")
def net():
    return build_network(CONFIG)


def test_counts_per_projection_are_exact(net) -> None:
    pop = net.population_of()
    pre = np.repeat(np.arange(net.n_neurons), np.diff(net.indptr))
    counts = np.zeros((8, 8), dtype=int)
    np.add.at(counts, (pop[net.targets], pop[pre]), 1)
    np.testing.assert_array_equal(counts, net.derived.num_synapses)
    np.testing.assert_array_equal(np.diff(net.offsets), net.derived.num_neurons)


def test_weights_and_delays_follow_the_tables(net) -> None:
    pop = net.population_of()
    pre = np.repeat(np.arange(net.n_neurons), np.diff(net.indptr))
    src, tgt = pop[pre], pop[net.targets]
    for t, s in [(0, 0), (0, 2), (1, 1), (4, 5)]:
        sel = (tgt == t) & (src == s)
        mean = net.derived.weight_mean_pa[t, s]
        assert net.weights[sel].mean() == pytest.approx(mean, rel=0.01)
        assert net.weights[sel].std() == pytest.approx(abs(mean) * 0.1, rel=0.1)
        assert np.all(np.sign(net.weights[sel]) == np.sign(mean))
    exc, inh = src % 2 == 0, src % 2 == 1
    # Normal(1.5, 0.75) truncated below dt/2 then rounded: mean slightly above 1.5 ms.
    assert net.delays[exc].mean() * 0.1 == pytest.approx(1.5, abs=0.05)
    assert net.delays[inh].mean() * 0.1 == pytest.approx(0.75, abs=0.08)
    assert net.delays.min() >= 1


def test_build_is_deterministic_for_a_seed(net, tmp_path) -> None:
    again = build_network(CONFIG)
    for name in ("indptr", "targets", "weights", "delays", "v0_mv"):
        np.testing.assert_array_equal(getattr(net, name), getattr(again, name))
    other = build_network(CONFIG.with_(seed=4))
    assert not np.array_equal(other.targets, net.targets)
    save_network(str(tmp_path / "n.npz"), net)
    loaded = load_network(str(tmp_path / "n.npz"), CONFIG)
    np.testing.assert_array_equal(loaded.targets, net.targets)
    assert loaded.weight_ext_pa == net.weight_ext_pa


def test_optional_layer1_population_is_wired_in() -> None:
    from brainstar.domain.cortex.config import Layer1Config

    # Test values only (PD14 has no layer 1); they exercise the wiring, not biology.
    l1 = Layer1Config(n_full=1000, k_ext=1500, p_to=(0.02,) * 8, p_from=(0.03,) * 8, source="test values")
    net = build_network(ColumnConfig(n_scaling=0.02, k_scaling=0.1, layer1=l1))
    assert net.populations[-1] == "L1I"
    assert np.diff(net.offsets)[-1] == 20
    pre = np.repeat(np.arange(net.n_neurons), np.diff(net.indptr))
    from_l1 = pre >= net.offsets[-2]
    assert from_l1.sum() == net.derived.num_synapses[:, -1].sum() > 0
    assert np.all(net.weights[from_l1] < 0)


def test_a_learned_plastic_column_with_a_thalamus_survives_save_and_load(tmp_path) -> None:
    from brainstar.domain.cortex import sources
    from brainstar.domain.cortex.plastic_network import PlasticProjection, make_plastic
    from brainstar.domain.cortex.plasticity import STDP_RULES

    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, seed=2)
    column = sources.add_thalamus(build_network(config), config, seed=1)
    column = make_plastic(
        column, (PlasticProjection("TC", "L4E", STDP_RULES["bipoo"].synapse),), tau_minus_ms=33.7
    )
    learned = column.plastic.weights0 * np.random.default_rng(0).uniform(0.5, 1.5, column.plastic.n_synapses)
    path = tmp_path / "trained.npz"
    save_network(str(path), column, plastic_weights=learned)
    loaded = load_network(str(path), config)
    assert loaded.populations == column.populations and loaded.n_sources == column.n_sources
    np.testing.assert_array_equal(loaded.plastic.weights0, learned)
    np.testing.assert_array_equal(loaded.plastic.table, column.plastic.table)
    assert loaded.plastic.projections == ("TC->L4E",) and loaded.plastic.tau_minus_ms == 33.7
    np.testing.assert_array_equal(loaded.targets, column.targets)
