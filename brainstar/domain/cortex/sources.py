"""Spike-source populations added to a built column: the PD14 thalamus and instructive inputs.

Sources are Poisson spike generators inside the engine (the last ``n_sources`` neuron ids), so
that their spikes travel through the same delay ring and the same plastic synapses as the
column's own. Their rates are set per trial by whoever presents a stimulus.

Thalamus: PD14 section "Thalamic input" and INM-6 ``stimulus_params``: 902 neurons at full scale
projecting to L4E, L4I, L6E and L6I with probabilities 0.0983, 0.0619, 0.0512, 0.0196 (the
``fixed_total_number`` rule of the column), PSP 0.15 mV, delay 1.5 ms (relative SD 0.5). The
population scales with N_scaling and its synapse counts with N_scaling x K_scaling, its weight
with 1/sqrt(K_scaling), as INM-6 scales it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.network import MAX_DELAY_STEPS, ColumnNetwork, _redraw_normal
from brainstar.domain.cortex.params import num_synapses_from_conn_probs, psc_over_psp

THALAMUS = "TC"
TH_FULL_NEURONS = 902
TH_CONN_PROBS: tuple[float, ...] = (0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196)
TH_PSP_MV = 0.15
TH_DELAY_MS = 1.5
TH_DELAY_REL_STD = 0.5


def add_sources(
    network: ColumnNetwork,
    name: str,
    n_sources: int,
    pre: np.ndarray,
    post: np.ndarray,
    weights: np.ndarray,
    delay_steps: np.ndarray,
) -> ColumnNetwork:
    """Append ``n_sources`` source neurons called ``name``; synapse k goes from source ``pre[k]``
    (0-based within the new population) to column neuron ``post[k]``."""
    n = network.n_neurons
    counts = np.bincount(pre, minlength=n_sources)
    order = np.lexsort((post, pre))  # rows by source, each sorted by target (engine contract)
    indptr = np.concatenate([network.indptr, network.indptr[-1] + np.cumsum(counts)]).astype(np.int64)
    zeros = np.zeros(n_sources)
    return replace(
        network,
        populations=(*network.populations, name),
        offsets=np.append(network.offsets, n + n_sources),
        indptr=indptr,
        targets=np.concatenate([network.targets, post[order].astype(np.int32)]),
        weights=np.concatenate([network.weights, weights[order].astype(np.float32)]),
        delays=np.concatenate([network.delays, delay_steps[order].astype(np.uint8)]),
        ext_indegree=np.concatenate([network.ext_indegree, zeros.astype(np.int32)]),
        dc_pa=np.concatenate([network.dc_pa, zeros]),
        v0_mv=np.concatenate([network.v0_mv, zeros]),
        n_sources=network.n_sources + n_sources,
    )


def thalamic_weight_pa(config: ColumnConfig, k_scaling: float | None = None) -> float:
    """The PSC of a thalamic synapse: PSP 0.15 mV, scaled by 1/sqrt(K) as the column's are."""
    k = config.k_scaling if k_scaling is None else k_scaling
    return TH_PSP_MV * psc_over_psp(config.neuron) / math.sqrt(k)


def add_thalamus(
    network: ColumnNetwork,
    config: ColumnConfig,
    seed: int,
    n_neurons: int | None = None,
    k_scaling: float | None = None,
) -> ColumnNetwork:
    """The PD14 thalamic population, connected to L4 and L6 as in the microcircuit model.

    ``n_neurons`` and ``k_scaling`` override the column's scaling for the thalamus alone (a
    stimulus needs enough relay cells and in-degree to reach every cortical cell).
    """
    rng = np.random.default_rng(seed)
    n_cortex = np.diff(network.offsets)[: len(TH_CONN_PROBS)]
    n_th = n_neurons or max(1, round(TH_FULL_NEURONS * config.n_scaling))
    k = config.k_scaling if k_scaling is None else k_scaling
    full_cortex = np.asarray(config.full_num_neurons, dtype=float)
    full = num_synapses_from_conn_probs(
        np.asarray(TH_CONN_PROBS)[:, None], full_cortex, np.array([TH_FULL_NEURONS])
    )
    # Full-scale in-degree per cortical cell, times K: the count for this many cortical cells.
    indegree = full[:, 0] / full_cortex
    counts = np.round(indegree * n_cortex * k).astype(np.int64)
    weight = thalamic_weight_pa(config, k)
    pre, post = [], []
    for target, count in enumerate(counts):
        pre.append(rng.integers(0, n_th, count))
        post.append(network.offsets[target] + rng.integers(0, n_cortex[target], count))
    pre_all, post_all = np.concatenate(pre), np.concatenate(post)
    size = pre_all.size
    weights = _redraw_normal(rng, weight, weight * config.synapse.weight_rel_std, size, 0.0, np.inf)
    delay = _redraw_normal(rng, TH_DELAY_MS, TH_DELAY_MS * TH_DELAY_REL_STD, size, 0.5 * config.dt_ms, np.inf)
    steps = np.clip(np.rint(delay / config.dt_ms), 1, MAX_DELAY_STEPS)
    return add_sources(network, THALAMUS, n_th, pre_all, post_all, weights, steps)
