"""Ahead-of-time warm-up of the cortex numba kernels (``cache=True``) for every later process.

numba keys its on-disk cache by argument types, so the kernels are compiled by running tiny
versions of the production code paths rather than by hand-written signatures: a typo in a
signature would warm a cache entry that production never loads.
"""

from __future__ import annotations

import numpy as np
from numba.core.dispatcher import Dispatcher

from brainstar.domain.cortex import engine_numba, network, plasticity, synapse_rules
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.simulation import simulate

# Every cached cortex kernel. hash_uniform and poisson_inverse are inlined into ``_run`` and
# _grown / _row_splits are compiled into it, so they reach the cache through ``_run``.
KERNELS: tuple[Dispatcher, ...] = (
    network._counting_sort_order,
    network._sort_rows_by_target,
    engine_numba._advance,
    engine_numba._row_splits,
    engine_numba._grown,
    synapse_rules.stdp_send,
    synapse_rules.dopamine_send,
    synapse_rules.dopamine_trigger,
    plasticity._daspnet,
)

# A few hundred neurons and 20 ms: the network builder and the engine's one signature of ``_run``
# (every caller, the neuromodulation experiments included, passes ``parts``).
TINY_COLUMN = ColumnConfig(n_scaling=0.005, k_scaling=0.02, t_sim_ms=10.0, warmup_ms=10.0, threads=1)


def replay_dopamine_synapse() -> None:
    """The dopamine synapse's replay path (the column's path is compiled into ``_advance``)."""
    from brainstar.domain.cortex.synapse_replay import replay

    pre, post = np.array([1.0, 5.0]), np.array([3.0])
    replay(pre, post, 1.0, 1.0, synapse_rules.DopamineSynapseParams(), dopamine_ms=np.array([4.0]))


def warm_kernels() -> tuple[Dispatcher, ...]:
    """Compile (or load from the cache) every cortex kernel with the types production passes."""
    simulate(TINY_COLUMN)
    plasticity.pairing_window(plasticity.STDP_RULES["song2000"], np.array([-10.0, 10.0]), n_pairs=2)
    replay_dopamine_synapse()
    plasticity.distal_reward_experiment(t_sec=1, n_exc=8, n_inh=2, m=4, seed=1)
    return KERNELS
