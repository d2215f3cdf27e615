"""The PD14 thalamus as engine spike sources: its connectivity and what its input does."""

from __future__ import annotations

import numpy as np
import pytest

from brainstar.domain.cortex import sources
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.engine_numba import ColumnSimulator, EngineRun
from brainstar.domain.cortex.network import build_network
from brainstar.domain.cortex.params import POPULATIONS, num_synapses_from_conn_probs

CONFIG = ColumnConfig(n_scaling=0.05, k_scaling=0.1, seed=11, warmup_ms=0.0)


@pytest.fixture(scope="module")
def column():
    network = build_network(CONFIG)
    return network, sources.add_thalamus(network, CONFIG, seed=3)


def test_thalamus_projects_to_l4_and_l6_with_pd14_counts(column) -> None:
    plain, network = column
    n_th = round(sources.TH_FULL_NEURONS * CONFIG.n_scaling)
    assert network.populations[-1] == sources.THALAMUS and network.n_sources == n_th
    assert network.n_neurons == plain.n_neurons + n_th
    first = network.offsets[-2]
    rows = slice(network.indptr[first], network.indptr[-1])
    targets, weights = network.targets[rows], network.weights[rows]
    counts = np.bincount(
        np.searchsorted(network.offsets, targets, side="right") - 1, minlength=len(POPULATIONS)
    )
    full_cortex = np.asarray(CONFIG.full_num_neurons, dtype=float)
    full = num_synapses_from_conn_probs(
        np.asarray(sources.TH_CONN_PROBS)[:, None], full_cortex, np.array([sources.TH_FULL_NEURONS])
    )[:, 0]
    expected = full / full_cortex * np.diff(plain.offsets) * CONFIG.k_scaling
    np.testing.assert_allclose(counts[: len(POPULATIONS)], expected, atol=1.0)
    assert {POPULATIONS[i] for i in np.flatnonzero(counts)} == {"L4E", "L4I", "L6E", "L6I"}
    assert (weights > 0).all()
    # The column's own synapses are untouched.
    np.testing.assert_array_equal(network.targets[: plain.n_synapses], plain.targets)


def test_thalamic_stimulus_drives_layer_4_more_than_layer_2_3(column) -> None:
    _, network = column
    simulator = ColumnSimulator(network, EngineRun.of(CONFIG), threads=2)
    simulator.advance(200.0)

    def rates(t_ms: float, th_rate_hz: float) -> np.ndarray:
        simulator.source_rate_hz = np.full(network.n_sources, th_rate_hz)
        _, ids = simulator.advance(t_ms)
        return np.bincount(ids, minlength=network.n_neurons)[: network.offsets[-2]] / (t_ms * 1e-3)

    def per_population(per_neuron: np.ndarray) -> dict[str, float]:
        return {
            p: float(per_neuron[a:b].mean())
            for p, a, b in zip(POPULATIONS, network.offsets[:-2], network.offsets[1:-1], strict=True)
        }

    quiet = per_population(rates(500.0, 0.0))
    driven = per_population(rates(500.0, 60.0))
    assert driven["L4E"] > quiet["L4E"] + 2.0
    assert driven["L4E"] - quiet["L4E"] > driven["L23E"] - quiet["L23E"]
    _, ids = simulator.advance(1000.0)  # still at 60 Hz: the sources fire at the rate they are given
    assert np.sum(ids >= network.offsets[-2]) / network.n_sources == pytest.approx(60.0, rel=0.1)
