"""CPU engine: exact-integration ``iaf_psc_exp`` neurons, delay ring buffer, CSR spike delivery.

The scheme follows NEST's ``iaf_psc_exp`` update (Rotter & Diesmann 1999 exact integration):
per step ``V <- P22 V + P21 I + P20 I_dc`` (unless refractory), ``I <- P11 I + arriving PSCs``,
spike and reset when ``V >= theta``. Spikes are delivered event by event through the CSR rows into
a ring buffer indexed by arrival step. Because PD14 uses one synaptic time constant for excitation
and inhibition, one current variable and one ring buffer carry both signs.

Background: Poisson counts per neuron and step (``K_ext * nu_bg * dt``) drawn by inversion from a
counter-based hash of (seed, step, neuron), so results are bit-identical for a seed whatever the
thread count; or, with ``poisson_input=False``, the DC equivalent already folded into ``dc_pa``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from brainstar.domain.cortex.network import ColumnNetwork

# The engine synchronises its threads every 0.1 ms step. With OpenMP's spinning wait policy a
# thread that loses its core (other processes running) stalls every step: measured here on a
# loaded 2-core machine, 48 s with the default vs 3.6 s with PASSIVE for the same run. Must be
# set before the OpenMP runtime starts; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from brainstar.domain.cortex.config import ColumnConfig, NeuronParams


@dataclass(frozen=True)
class SpikeData:
    """Spikes recorded in [t_start_ms, t_stop_ms): ``times_ms`` (S,) float64, ``senders`` (S,) int32."""

    times_ms: np.ndarray
    senders: np.ndarray
    offsets: np.ndarray  # (P+1,) neuron-id boundaries of the populations
    populations: tuple[str, ...]
    t_start_ms: float
    t_stop_ms: float
    wall_seconds: float  # state propagation only (no network construction)


@dataclass(frozen=True)
class Propagators:
    """Exact-integration factors for one step ``dt`` (NEST ``iaf_psc_exp``), V relative to E_L."""

    p11: float  # synaptic current decay exp(-dt/tau_syn)
    p22: float  # membrane decay exp(-dt/tau_m)
    p21: float  # current -> voltage (mV/pA)
    p20: float  # constant current -> voltage (mV/pA)
    theta: float  # threshold above E_L (mV)
    v_reset: float  # reset relative to E_L (mV)
    ref_steps: int


@dataclass(frozen=True)
class EngineRun:
    """What both engines simulate besides the network: neuron model, durations, background, seed."""

    neuron: NeuronParams
    t_sim_ms: float
    warmup_ms: float
    bg_rate_hz: float
    poisson_input: bool
    seed: int

    @classmethod
    def of(cls, config: ColumnConfig) -> EngineRun:
        return cls(
            neuron=config.neuron,
            t_sim_ms=config.t_sim_ms,
            warmup_ms=config.warmup_ms,
            bg_rate_hz=config.synapse.bg_rate_hz,
            poisson_input=config.poisson_input,
            seed=config.seed,
        )

    def steps(self, dt_ms: float) -> tuple[int, int]:
        """Warm-up steps and total steps."""
        n_warm = round(self.warmup_ms / dt_ms)
        return n_warm, n_warm + round(self.t_sim_ms / dt_ms)

    def poisson_means(self, network: ColumnNetwork) -> np.ndarray:
        """Mean external Poisson spike count per neuron and step (none under the DC approximation)."""
        if not self.poisson_input:
            return np.zeros(network.n_neurons)
        return network.ext_indegree * self.bg_rate_hz * network.dt_ms * 1e-3


def propagators(neuron: NeuronParams, dt_ms: float) -> Propagators:
    tau_m, tau_s, c_m = neuron.tau_m_ms, neuron.tau_syn_ms, neuron.c_m_pf
    p22 = math.exp(-dt_ms / tau_m)
    p11 = math.exp(-dt_ms / tau_s)
    p21 = tau_s * tau_m / (c_m * (tau_m - tau_s)) * (p22 - p11)
    return Propagators(
        p11=p11,
        p22=p22,
        p21=p21,
        p20=tau_m / c_m * (1.0 - p22),
        theta=neuron.v_th_mv - neuron.e_l_mv,
        v_reset=neuron.v_reset_mv - neuron.e_l_mv,
        ref_steps=round(neuron.t_ref_ms / dt_ms),
    )


@numba.njit(cache=True, inline="always")
def hash_uniform(seed: np.uint64, step: np.uint64, neuron: np.uint64) -> float:
    """Uniform in [0, 1) from splitmix64 of (seed, step, neuron): stateless, thread-order free."""
    x = seed * np.uint64(0x9E3779B97F4A7C15) + step * np.uint64(0xBF58476D1CE4E5B9) + neuron
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def poisson_inverse(u: float, exp_neg_lam: float, lam: float) -> int:
    """Poisson sample by CDF inversion: cheap for the small means (< 3 per step) used here."""
    k = 0
    p = exp_neg_lam
    cdf = p
    while u > cdf and k < 1000:
        k += 1
        p *= lam / k
        cdf += p
    return k


@numba.njit(cache=True)
def _grown(values: np.ndarray) -> np.ndarray:
    """A copy with twice the capacity (the spike record grows geometrically)."""
    out = np.empty(2 * values.size, dtype=values.dtype)
    out[: values.size] = values
    return out


@numba.njit(cache=True)
def _row_splits(indptr: np.ndarray, targets: np.ndarray, n: int, parts: int) -> np.ndarray:
    """(N, parts+1) positions cutting each target-sorted CSR row into ``parts`` target ranges."""
    splits = np.empty((indptr.size - 1, parts + 1), dtype=np.int64)
    for i in range(indptr.size - 1):
        lo, hi = indptr[i], indptr[i + 1]
        splits[i, 0] = lo
        for k in range(1, parts):
            splits[i, k] = lo + np.searchsorted(targets[lo:hi], (n * k) // parts)
        splits[i, parts] = hi
    return splits


@numba.njit(cache=True, parallel=True)
def _run(
    indptr: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    delays: np.ndarray,
    v: np.ndarray,
    dc: np.ndarray,
    lam: np.ndarray,
    w_ext: float,
    p11: float,
    p22: float,
    p21: float,
    p20: float,
    theta: float,
    v_reset: float,
    ref_steps: int,
    n_steps: int,
    record_from: int,
    seed: np.uint64,
    parts: int = 1,
) -> tuple[np.ndarray, np.ndarray, int]:
    n = v.size
    # The ring only needs max(delay)+1 slots; a small ring keeps the buffer in cache.
    ring = 2
    for d in delays:
        if d + 1 > ring:
            ring = d + 1
    # Work is split by target range, one part per thread, in ONE parallel region per step: each
    # part first delivers the previous step's spikes to its own targets, then updates its own
    # neurons. No two threads write the same entry, and each entry receives its PSCs in the same
    # order whatever the thread count, so results are bit-identical for a seed. Rows must be
    # sorted by target; ``parts`` should equal the thread count.
    splits = _row_splits(indptr, targets, n, parts)
    buf = np.zeros((ring, n))
    current = np.zeros(n)
    refractory = np.zeros(n, dtype=np.int32)
    spiked = np.zeros(n, dtype=np.uint8)
    fired = np.empty(n, dtype=np.int64)
    n_fired = 0
    exp_neg_lam = np.exp(-lam)
    capacity = max(1024, n * 8)
    rec_steps = np.empty(capacity, dtype=np.int32)
    rec_ids = np.empty(capacity, dtype=np.int32)
    count = 0
    for step in range(n_steps):
        slot = step % ring
        emitted_slot = (step - 1) % ring  # spikes in ``fired`` were emitted in the previous step
        for part in prange(parts):
            for f in range(n_fired):
                i = fired[f]
                for k in range(splits[i, part], splits[i, part + 1]):
                    slot_k = emitted_slot + delays[k]
                    if slot_k >= ring:
                        slot_k -= ring
                    buf[slot_k, targets[k]] += weights[k]
            for i in range((n * part) // parts, (n * (part + 1)) // parts):
                if refractory[i] == 0:
                    v[i] = v[i] * p22 + current[i] * p21 + dc[i] * p20
                else:
                    refractory[i] -= 1
                current[i] = current[i] * p11 + buf[slot, i]
                buf[slot, i] = 0.0
                if lam[i] > 0.0:
                    u = hash_uniform(seed, np.uint64(step), np.uint64(i))
                    current[i] += w_ext * poisson_inverse(u, exp_neg_lam[i], lam[i])
                if v[i] >= theta:
                    v[i] = v_reset
                    refractory[i] = ref_steps
                    spiked[i] = 1
                else:
                    spiked[i] = 0
        n_fired = 0
        for i in range(n):
            if spiked[i] == 0:
                continue
            fired[n_fired] = i
            n_fired += 1
            if step >= record_from:
                if count == rec_steps.size:
                    rec_steps = _grown(rec_steps)
                    rec_ids = _grown(rec_ids)
                rec_steps[count] = step
                rec_ids[count] = i
                count += 1
    return rec_steps[:count], rec_ids[:count], count


def simulate_network(network: ColumnNetwork, run: EngineRun, threads: int = 1) -> SpikeData:
    """Run warm-up plus ``run.t_sim_ms``; record spikes after the warm-up. Deterministic for the seed.

    A spike emitted in step k (time (k+1) dt, NEST convention) is reported at that time.
    """
    prop = propagators(run.neuron, network.dt_ms)
    n_warm, n_steps = run.steps(network.dt_ms)
    lam = run.poisson_means(network).astype(np.float64)
    v0 = network.v0_mv - run.neuron.e_l_mv
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        args = (network.indptr, network.targets, network.weights, network.delays)
        # A zero-step call compiles (or loads from cache) outside the timed region; it passes
        # every argument the timed call does, or numba would compile a second signature there.
        _run(
            *args,
            v0.copy(),
            network.dc_pa,
            lam,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            1.0,
            0.0,
            0,
            0,
            0,
            np.uint64(0),
            numba.get_num_threads(),
        )
        start = time.perf_counter()
        steps, ids, _ = _run(
            *args,
            v0.astype(np.float64),
            network.dc_pa,
            lam,
            network.weight_ext_pa,
            prop.p11,
            prop.p22,
            prop.p21,
            prop.p20,
            prop.theta,
            prop.v_reset,
            prop.ref_steps,
            n_steps,
            n_warm,
            np.uint64(run.seed),
            numba.get_num_threads(),
        )
        wall = time.perf_counter() - start
    finally:
        numba.set_num_threads(previous)
    return spike_data(network, steps, ids, n_warm, n_steps, wall)


def spike_data(
    network: ColumnNetwork, steps: np.ndarray, senders: np.ndarray, n_warm: int, n_steps: int, wall: float
) -> SpikeData:
    """Package recorded (step, sender) pairs; a spike in step k is reported at (k+1) dt (NEST)."""
    dt = network.dt_ms
    return SpikeData(
        times_ms=(steps.astype(np.float64) + 1.0) * dt,
        senders=senders.astype(np.int32),
        offsets=network.offsets,
        populations=network.populations,
        t_start_ms=n_warm * dt,
        t_stop_ms=n_steps * dt,
        wall_seconds=wall,
    )
