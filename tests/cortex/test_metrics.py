"""Activity statistics on synthetic spike trains with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from brainstar.domain.cortex import metrics
from brainstar.domain.cortex.engine_numba import SpikeData


def _spikes(trains: list[np.ndarray], offsets: list[int], t_stop: float) -> SpikeData:
    times = np.concatenate(trains)
    senders = np.concatenate([np.full(t.size, i, np.int32) for i, t in enumerate(trains)])
    return SpikeData(times, senders, np.asarray(offsets), ("A", "B"), 0.0, t_stop, 0.0)


def test_rates_cv_and_correlation_recover_ground_truth() -> None:
    rng = np.random.default_rng(0)
    t_stop = 200_000.0
    poisson = [np.sort(rng.uniform(0, t_stop, 2000)) for _ in range(20)]  # 10 Hz, CV 1
    regular = [np.arange(5.0 + i, t_stop, 100.0) for i in range(20)]  # 10 Hz, CV 0
    data = _spikes(poisson + regular, [0, 20, 40], t_stop)
    np.testing.assert_allclose(metrics.population_rates_hz(data), [10.0, 10.0], rtol=0.01)
    cv = metrics.mean_cv_isi(data)
    assert cv[0] == pytest.approx(1.0, abs=0.05)
    assert cv[1] == pytest.approx(0.0, abs=1e-9)
    corr = metrics.mean_pairwise_correlation(data)
    assert abs(corr[0]) < 0.01


def test_identical_trains_are_fully_correlated() -> None:
    train = np.sort(np.random.default_rng(1).uniform(0, 10_000, 500))
    data = _spikes([train, train, train, train], [0, 2, 4], 10_000.0)
    np.testing.assert_allclose(metrics.mean_pairwise_correlation(data), [1.0, 1.0])


# Largest |ours - Elephant| measured was 3.2e-15 (CV ISI, summation order); a different convention
# (a spike on t_stop kept, an edge spike binned a bin early) moves the result by 1e-6 or more.
ELEPHANT_ATOL = 1e-12


def _assert_agrees_with_elephant(data: SpikeData) -> None:
    pairs = [
        (metrics.population_rates_hz, metrics.elephant_rates_hz),
        (metrics.mean_cv_isi, metrics.elephant_mean_cv_isi),
        (metrics.mean_pairwise_correlation, metrics.elephant_mean_pairwise_correlation),
    ]
    for ours, elephant in pairs:
        np.testing.assert_allclose(
            ours(data), elephant(data), rtol=0, atol=ELEPHANT_ATOL, err_msg=ours.__name__
        )


def test_kept_statistics_agree_with_elephant_on_a_simulated_run() -> None:
    from brainstar.domain.cortex.config import ColumnConfig
    from brainstar.domain.cortex.network import build_network
    from brainstar.domain.cortex.simulation import run_engine

    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, t_sim_ms=400.0, warmup_ms=100.0, seed=9)
    data = run_engine(config, build_network(config), "numba")
    assert data.times_ms.size > 1000
    _assert_agrees_with_elephant(data)


def test_correlation_bins_edge_spikes_as_elephant_does() -> None:
    # Spikes on bin edges, a float step below them (which belong to the next bin), on t_stop and
    # in the partial bin after the last whole one: the cases where binning conventions differ.
    edges = np.arange(0.0, 200.0, 2.0)
    rng = np.random.default_rng(3)
    on_edge = edges[rng.random(edges.size) < 0.3]
    below_edge = np.nextafter(on_edge[1:], 0.0)
    trains = [
        on_edge,
        below_edge,
        np.sort(np.concatenate([on_edge[::2], [200.5, 201.0, 201.0]])),
        np.sort(rng.uniform(0.0, 201.0, 40)),
    ]
    data = _spikes(trains, [0, 2, 4], 201.0)
    _assert_agrees_with_elephant(data)
    # Edge and below-edge spikes share their bins: the first population is almost fully correlated.
    assert metrics.mean_pairwise_correlation(data)[0] > 0.95
