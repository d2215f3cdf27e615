"""The torch engine against the numba engine, statistically (runs on CPU)."""

from __future__ import annotations

import numpy as np

from brainstar.domain.cortex import metrics
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.network import build_network
from brainstar.domain.cortex.simulation import run_engine


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
