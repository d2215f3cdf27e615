"""Column spike statistics: ours (brainstar.domain.cortex.metrics) vs Elephant, on one engine run.

The run is the pipeline's column (N_scaling = K_scaling = 0.1, 7.7k neurons) over 2 s. Each
statistic is timed from the same ``SpikeData``; Elephant's time includes building the
``neo.SpikeTrain`` objects it needs, since that is part of what using it costs. The difference is
the largest over populations of |Elephant - ours|.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from benchmarks.harness import Table, best_of

T_SIM_MS, WARMUP_MS, SEED, THREADS = 2000.0, 500.0, 55, 2
# Elephant takes seconds per call here: fewer repeats keep the benchmark under a minute.
REPEAT_OURS, REPEAT_ELEPHANT = 5, 3


def run(t_sim_ms: float = T_SIM_MS) -> Table:
    from brainstar.domain.cortex import metrics
    from brainstar.domain.cortex.config import ColumnConfig
    from brainstar.domain.cortex.network import build_network
    from brainstar.domain.cortex.simulation import run_engine

    config = ColumnConfig(t_sim_ms=t_sim_ms, warmup_ms=WARMUP_MS, seed=SEED, threads=THREADS)
    spikes = run_engine(config, build_network(config), "numba")
    n_neurons = int(spikes.offsets[-1])
    table = Table(
        f"cortex metrics: Elephant vs ours, {n_neurons} neurons, {spikes.times_ms.size:,} spikes "
        f"over {t_sim_ms:g} ms",
        ["statistic", "elephant (s)", "ours (s)", "elephant / ours", "max |difference|"],
    )
    pairs: list[tuple[str, Callable[[], np.ndarray], Callable[[], np.ndarray]]] = [
        ("rate (Hz)", lambda: metrics.elephant_rates_hz(spikes), lambda: metrics.population_rates_hz(spikes)),
        ("CV ISI", lambda: metrics.elephant_mean_cv_isi(spikes), lambda: metrics.mean_cv_isi(spikes)),
        (
            "correlation 2 ms",
            lambda: metrics.elephant_mean_pairwise_correlation(spikes),
            lambda: metrics.mean_pairwise_correlation(spikes),
        ),
    ]
    for name, elephant, ours in pairs:
        difference = float(np.nanmax(np.abs(elephant() - ours())))
        elephant_s = best_of(elephant, REPEAT_ELEPHANT)
        ours_s = best_of(ours, REPEAT_OURS)
        table.add(name, elephant_s, ours_s, elephant_s / ours_s, f"{difference:.1e}")
    start = time.perf_counter()
    metrics._neo_trains(spikes, np.arange(n_neurons))
    table.notes.append(
        f"Building the {n_neurons} neo.SpikeTrain objects alone took {time.perf_counter() - start:.2f} s "
        "(inside the Elephant times of rate and CV ISI)."
    )
    table.notes.append("Best of 5 calls (ours) and of 3 (Elephant); correlation on the same subsample.")
    return table
