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
