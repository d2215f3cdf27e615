"""Connectivity of the column: PD14 ``fixed_total_number`` projections stored as CSR arrays.

For every (target, source) population pair exactly ``num_synapses[t, s]`` synapses are drawn with
pre- and post-synaptic neurons uniform and independent (multapses and autapses allowed, as in NEST's
``fixed_total_number`` rule used by PD14). Weights are normal with SD ``weight_rel_std * |mean|``,
redrawn until they keep their sign; delays are normal with SD ``delay_rel_std * mean``, redrawn
below half a time step and rounded to whole steps (so the minimum delay is one step, as in INM-6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.params import DerivedParams, derive

MAX_DELAY_STEPS = 255  # delays are stored as uint8 steps; 25.5 ms at dt 0.1 ms is > 30 SD above the mean


@dataclass(frozen=True)
class PlasticSynapses:
    """Plastic synapses as CSR rows by pre-synaptic neuron, each row sorted by target.

    ``rule`` (S,) indexes rows of ``table`` (R, 13), the rule parameters in the column order of
    ``engine_numba`` (KIND ... W_MIN); ``projection`` (S,) indexes ``projections`` ("L4E->L23E").
    ``tau_minus_ms`` is the post-synaptic trace of every neuron (NEST: a neuron property);
    ``deliver_interval`` the volume transmitter's update period in steps (0: no dopamine synapse).
    """

    indptr: np.ndarray
    targets: np.ndarray
    delays: np.ndarray
    weights0: np.ndarray
    rule: np.ndarray
    table: np.ndarray
    projection: np.ndarray
    projections: tuple[str, ...]
    tau_minus_ms: float
    deliver_interval: int

    @property
    def n_synapses(self) -> int:
        return int(self.targets.size)


@dataclass(frozen=True)
class ColumnNetwork:
    """A built network. N neurons, S synapses; neuron ids are grouped by population.

    ``indptr`` (N+1,) int64 and ``targets`` (S,) int32 are the CSR rows by pre-synaptic neuron,
    each row sorted by target;
    ``weights`` (S,) float32 in pA, ``delays`` (S,) uint8 in steps of ``dt_ms``.
    """

    populations: tuple[str, ...]
    offsets: np.ndarray  # (P+1,) first neuron id of each population
    indptr: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    ext_indegree: np.ndarray  # (N,) int32 Poisson in-degree per neuron
    weight_ext_pa: float
    dc_pa: np.ndarray  # (N,) constant current per neuron
    v0_mv: np.ndarray  # (N,) initial membrane potential
    dt_ms: float
    derived: DerivedParams
    plastic: PlasticSynapses | None = None  # synapses moved out of the static CSR to learn
    n_sources: int = 0  # the last ``n_sources`` neurons are Poisson spike sources (thalamus)

    @property
    def n_neurons(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_synapses(self) -> int:
        return int(self.targets.size)

    @property
    def column_populations(self) -> tuple[str, ...]:
        """The column's own populations, without the spike sources (thalamus, teacher)."""
        first_source = self.n_neurons - self.n_sources
        return tuple(
            p for p, start in zip(self.populations, self.offsets, strict=False) if start < first_source
        )

    def population_of(self) -> np.ndarray:
        """(N,) population index of every neuron."""
        return np.repeat(np.arange(len(self.populations)), np.diff(self.offsets))


def _redraw_normal(
    rng: np.random.Generator, mean: float, std: float, size: int, low: float, high: float
) -> np.ndarray:
    """Normal samples redrawn until they lie in [low, high] (NEST ``nest.math.redraw``)."""
    values = rng.normal(mean, std, size) if std > 0 else np.full(size, mean)
    bad = (values < low) | (values > high)
    while bad.any():
        values[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (values < low) | (values > high)
    return values


@numba.njit(cache=True)
def _counting_sort_order(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable O(S) ordering of ``keys`` in [0, n_keys) and the CSR row pointer."""
    counts = np.zeros(n_keys + 1, dtype=np.int64)
    for k in keys:
        counts[k + 1] += 1
    for i in range(n_keys):
        counts[i + 1] += counts[i]
    cursor = counts[:-1].copy()
    order = np.empty(keys.size, dtype=np.int64)
    for idx in range(keys.size):
        k = keys[idx]
        order[cursor[k]] = idx
        cursor[k] += 1
    return order, counts


@numba.njit(cache=True)
def _sort_rows_by_target(
    indptr: np.ndarray, targets: np.ndarray, weights: np.ndarray, delays: np.ndarray
) -> None:
    """Sort every CSR row by target in place (cache-friendly delivery, target-range threading)."""
    for i in range(indptr.size - 1):
        lo, hi = indptr[i], indptr[i + 1]
        order = np.argsort(targets[lo:hi], kind="mergesort")
        targets[lo:hi] = targets[lo:hi][order]
        weights[lo:hi] = weights[lo:hi][order]
        delays[lo:hi] = delays[lo:hi][order]


def build_network(config: ColumnConfig) -> ColumnNetwork:
    """Draw the column's connectivity; identical arrays for identical ``config`` (incl. ``seed``)."""
    derived = derive(config)
    rng = np.random.default_rng(config.seed)
    sizes = derived.num_neurons
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    syn = config.synapse
    pre_parts, post_parts, w_parts, d_parts = [], [], [], []
    for t in range(len(sizes)):
        for s in range(len(sizes)):
            count = int(derived.num_synapses[t, s])
            if count <= 0:
                continue
            pre_parts.append((offsets[s] + rng.integers(0, sizes[s], count)).astype(np.int32))
            post_parts.append((offsets[t] + rng.integers(0, sizes[t], count)).astype(np.int32))
            mean_w = float(derived.weight_mean_pa[t, s])
            low, high = (0.0, np.inf) if mean_w >= 0 else (-np.inf, 0.0)
            w_parts.append(
                _redraw_normal(rng, mean_w, abs(mean_w) * syn.weight_rel_std, count, low, high).astype(
                    np.float32
                )
            )
            mean_d = float(derived.delay_mean_ms[t, s])
            delay = _redraw_normal(rng, mean_d, mean_d * syn.delay_rel_std, count, 0.5 * config.dt_ms, np.inf)
            steps = np.clip(np.rint(delay / config.dt_ms), 1, MAX_DELAY_STEPS)
            d_parts.append(steps.astype(np.uint8))
    n = int(offsets[-1])
    pre = np.concatenate(pre_parts) if pre_parts else np.zeros(0, np.int32)
    order, indptr = _counting_sort_order(pre, n)
    targets = np.concatenate(post_parts)[order] if post_parts else np.zeros(0, np.int32)
    weights = np.concatenate(w_parts)[order] if w_parts else np.zeros(0, np.float32)
    delays = np.concatenate(d_parts)[order] if d_parts else np.zeros(0, np.uint8)
    _sort_rows_by_target(indptr, targets, weights, delays)
    pop_index = np.repeat(np.arange(len(sizes)), sizes)
    v0 = rng.normal(derived.v0_mean_mv[pop_index], derived.v0_std_mv[pop_index])
    return ColumnNetwork(
        populations=derived.populations,
        offsets=offsets,
        indptr=indptr,
        targets=targets,
        weights=weights,
        delays=delays,
        ext_indegree=derived.ext_indegrees[pop_index].astype(np.int32),
        weight_ext_pa=derived.weight_ext_pa,
        dc_pa=derived.dc_amp_pa[pop_index].astype(np.float64),
        v0_mv=v0,
        dt_ms=config.dt_ms,
        derived=derived,
    )


_ARRAYS = ("offsets", "indptr", "targets", "weights", "delays", "ext_indegree", "dc_pa", "v0_mv")
_PLASTIC_ARRAYS = ("indptr", "targets", "delays", "weights0", "rule", "table", "projection")


def save_network(path: str, network: ColumnNetwork, plastic_weights: np.ndarray | None = None) -> None:
    """Write the CSR arrays and per-neuron vectors to an ``.npz`` file (uncompressed, fast).

    Plastic synapses are written with ``plastic_weights`` (e.g. learned ones) in place of their
    starting weights, so that the file is the column as it is now.
    """
    extra: dict[str, np.ndarray] = {}
    if network.plastic is not None:
        plastic = network.plastic
        for name in _PLASTIC_ARRAYS:
            extra[f"plastic_{name}"] = getattr(plastic, name)
        if plastic_weights is not None:
            extra["plastic_weights0"] = np.asarray(plastic_weights, dtype=np.float64)
        extra["plastic_projections"] = np.array(plastic.projections)
        extra["plastic_tau_minus_ms"] = np.float64(plastic.tau_minus_ms)
        extra["plastic_deliver_interval"] = np.int64(plastic.deliver_interval)
    with open(path, "wb") as handle:
        np.savez(
            handle,
            **{name: getattr(network, name) for name in _ARRAYS},
            **extra,
            populations=np.array(network.populations),
            n_sources=np.int64(network.n_sources),
            weight_ext_pa=np.float64(network.weight_ext_pa),
            dt_ms=np.float64(network.dt_ms),
        )


def load_network(path: str, config: ColumnConfig) -> ColumnNetwork:
    """Read a network written by :func:`save_network` for ``config``."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in _ARRAYS}
        weight_ext, dt = float(data["weight_ext_pa"]), float(data["dt_ms"])
        derived = derive(config)
        populations = (
            tuple(str(p) for p in data["populations"]) if "populations" in data else derived.populations
        )
        n_sources = int(data["n_sources"]) if "n_sources" in data else 0
        plastic = None
        if "plastic_indptr" in data:
            plastic = PlasticSynapses(
                **{name: data[f"plastic_{name}"] for name in _PLASTIC_ARRAYS},
                projections=tuple(str(p) for p in data["plastic_projections"]),
                tau_minus_ms=float(data["plastic_tau_minus_ms"]),
                deliver_interval=int(data["plastic_deliver_interval"]),
            )
    return ColumnNetwork(
        populations=populations,
        weight_ext_pa=weight_ext,
        dt_ms=dt,
        derived=derived,
        plastic=plastic,
        n_sources=n_sources,
        **arrays,
    )
