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
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
from numba import prange

from brainstar.domain.cortex import synapse_rules
from brainstar.domain.cortex.network import ColumnNetwork
from brainstar.domain.cortex.synapse_rules import (
    A_MINUS,
    A_PLUS,
    ALPHA,
    KIND,
    KIND_DOPAMINE,
    LAMBDA,
    MU_MINUS,
    MU_PLUS,
    T_READ,
    TAU_C,
    TAU_N,
    TAU_PLUS,
    W_MAX,
    W_MIN,
    B,
)

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
    plastic_weights: np.ndarray | None = None  # (S_plastic,) at the end, when synapses learned
    learned: dict[str, Any] | None = None  # per plastic projection: weights before and after


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


# Counters carried between calls: spikes waiting for delivery, next step, dopamine list length,
# next scheduled dopamine spike, post-history reads that needed an overwritten entry.
N_FIRED, STEP, N_DA, DA_NEXT, MISSES = range(5)
SOURCE_STREAM = np.uint64(0x5BD1E995)  # Poisson source neurons draw from their own hash stream


@numba.njit(cache=True, parallel=True)
def _advance(
    indptr: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    delays: np.ndarray,
    p_indptr: np.ndarray,
    p_targets: np.ndarray,
    p_delays: np.ndarray,
    p_rule: np.ndarray,
    rule_table: np.ndarray,
    p_state: np.ndarray,
    in_ptr: np.ndarray,
    in_syn: np.ndarray,
    v: np.ndarray,
    current: np.ndarray,
    refractory: np.ndarray,
    buf: np.ndarray,
    fired: np.ndarray,
    counters: np.ndarray,
    h_times: np.ndarray,
    h_k: np.ndarray,
    h_count: np.ndarray,
    h_trace: np.ndarray,
    h_last: np.ndarray,
    da_schedule: np.ndarray,
    da_times: np.ndarray,
    da_mult: np.ndarray,
    dc: np.ndarray,
    lam: np.ndarray,
    source_rate_hz: np.ndarray,
    w_ext: float,
    prop: np.ndarray,
    ref_steps: int,
    tau_minus_inv: float,
    deliver_interval: int,
    dt: float,
    n_steps: int,
    record_from: int,
    seed: np.uint64,
    parts: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Advance the column ``n_steps`` from the state in the arrays, which it updates in place.

    Neurons ``>= n - source_rate_hz.size`` are Poisson spike sources (thalamus) with the given
    rates; the others are ``iaf_psc_exp``. Static synapses deliver through the CSR rows; plastic
    ones compute the weight each spike is sent with (:mod:`synapse_rules`) and deliver it.
    """
    p11, p22, p21, p20, theta, v_reset = prop[0], prop[1], prop[2], prop[3], prop[4], prop[5]
    n = v.size
    ring = buf.shape[0]
    first_source = n - source_rate_hz.size
    archive = p_targets.size > 0
    # Work is split by target range, one part per thread, in ONE parallel region per step: each
    # part first delivers the previous step's spikes to its own targets, then updates its own
    # neurons. No two threads write the same entry, and each entry receives its PSCs in the same
    # order whatever the thread count, so results are bit-identical for a seed. Rows must be
    # sorted by target; ``parts`` should equal the thread count. A plastic synapse belongs to the
    # part of its target, which also archives that target's spikes, so its updates are race-free.
    splits = _row_splits(indptr, targets, n, parts)
    p_splits = _row_splits(p_indptr, p_targets, n, parts)
    misses = np.zeros(parts, dtype=np.int64)
    spiked = np.zeros(n, dtype=np.uint8)
    n_fired = counters[N_FIRED]
    step0 = counters[STEP]
    capacity = max(1024, n * 8)
    rec_steps = np.empty(capacity, dtype=np.int32)
    rec_ids = np.empty(capacity, dtype=np.int32)
    count = 0
    exp_neg_lam = np.exp(-lam)
    p_source = source_rate_hz * dt * 1e-3
    for step in range(step0, step0 + n_steps):
        slot = step % ring
        emitted_slot = (step - 1) % ring  # spikes in ``fired`` were emitted in the previous step
        t_emit = step * dt  # ... at time step * dt (a spike of step k is stamped (k + 1) dt)
        n_da = counters[N_DA]
        for part in prange(parts):
            for f in range(n_fired):
                i = fired[f]
                for k in range(splits[i, part], splits[i, part + 1]):
                    slot_k = emitted_slot + delays[k]
                    if slot_k >= ring:
                        slot_k -= ring
                    buf[slot_k, targets[k]] += weights[k]
                for k in range(p_splits[i, part], p_splits[i, part + 1]):
                    j = p_targets[k]
                    r = rule_table[p_rule[k]]
                    d_ms = p_delays[k] * dt
                    if r[KIND] == KIND_DOPAMINE:
                        w = synapse_rules.dopamine_send(
                            p_state, k, t_emit, d_ms, j, h_times, h_k, h_count, misses[part : part + 1],
                            tau_minus_inv, da_times, da_mult, n_da, r[A_PLUS], r[A_MINUS], r[TAU_PLUS],
                            r[TAU_C], r[TAU_N], r[B], r[W_MIN], r[W_MAX],
                        )  # fmt: skip
                    else:
                        w = synapse_rules.stdp_send(
                            p_state[k, 0], p_state[k, 3], p_state[k, 4], p_state[k, T_READ], t_emit, d_ms,
                            j, h_times, h_k, h_count, misses[part : part + 1], tau_minus_inv, int(r[KIND]),
                            r[TAU_PLUS], r[LAMBDA], r[ALPHA], r[MU_PLUS], r[MU_MINUS], r[W_MAX],
                        )  # fmt: skip
                        p_state[k, 0] = w
                        p_state[k, T_READ] = t_emit - d_ms
                        p_state[k, 3] = synapse_rules.advance_pre_trace(
                            p_state[k, 3], p_state[k, 4], t_emit, r[TAU_PLUS]
                        )
                        p_state[k, 4] = t_emit
                    slot_k = emitted_slot + p_delays[k]
                    if slot_k >= ring:
                        slot_k -= ring
                    buf[slot_k, j] += w
            for i in range((n * part) // parts, (n * (part + 1)) // parts):
                if i >= first_source:
                    buf[slot, i] = 0.0
                    u = hash_uniform(seed ^ SOURCE_STREAM, np.uint64(step), np.uint64(i))
                    spiked[i] = 1 if u < p_source[i - first_source] else 0
                else:
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
                if spiked[i] == 1 and archive:
                    synapse_rules.read_ahead(
                        i, in_ptr, in_syn, p_delays, p_rule, rule_table, p_state, dt, h_times, h_count,
                        misses[part : part + 1],
                    )  # fmt: skip
                    synapse_rules.archive_spike(
                        h_times, h_k, h_count, h_trace, h_last, i, (step + 1) * dt, tau_minus_inv
                    )
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
        # The volume transmitter collects the dopamine arriving in this step and, every
        # ``deliver_interval`` steps, brings every dopamine synapse up to date (NEST's order).
        t_end = (step + 1) * dt
        while counters[DA_NEXT] < da_schedule.size and da_schedule[counters[DA_NEXT]] <= t_end + 1e-9:
            da_times[counters[N_DA]] = t_end
            da_mult[counters[N_DA]] = 1.0
            counters[N_DA] += 1
            counters[DA_NEXT] += 1
        if deliver_interval > 0 and (step + 1) % deliver_interval == 0:
            n_da = counters[N_DA]
            for part in prange(parts):
                for i in range(n):
                    for k in range(p_splits[i, part], p_splits[i, part + 1]):
                        r = rule_table[p_rule[k]]
                        if r[KIND] == KIND_DOPAMINE:
                            synapse_rules.dopamine_trigger(
                                p_state, k, t_end, p_delays[k] * dt, p_targets[k], h_times, h_count,
                                misses[part : part + 1], da_times, da_mult, n_da, r[A_PLUS], r[TAU_PLUS],
                                r[TAU_C], r[TAU_N], r[B], r[W_MIN], r[W_MAX],
                            )  # fmt: skip
            da_times[0] = t_end
            da_mult[0] = 0.0
            counters[N_DA] = 1
    counters[N_FIRED] = n_fired
    counters[STEP] = step0 + n_steps
    counters[MISSES] += misses.sum()
    return rec_steps[:count], rec_ids[:count], count


@dataclass
class EngineState:
    """Everything that evolves: membrane, currents, ring buffer, plastic synapses, histories."""

    v: np.ndarray  # (N,) mV relative to E_L
    current: np.ndarray
    refractory: np.ndarray
    buf: np.ndarray  # (ring, N) PSCs by arrival step
    fired: np.ndarray  # (N,) ids that spiked in the last step, first counters[N_FIRED] valid
    counters: np.ndarray  # see N_FIRED ... MISSES
    history: synapse_rules.PostHistory
    plastic: np.ndarray  # (S_plastic, 7): synapse_rules.W ... T_READ
    da_times: np.ndarray
    da_mult: np.ndarray

    @classmethod
    def initial(cls, network: ColumnNetwork, run: EngineRun) -> EngineState:
        n = network.n_neurons
        delays = [network.delays]
        if network.plastic is not None:
            delays.append(network.plastic.delays)
        ring = max([2, *(int(d.max()) + 1 for d in delays if d.size)])
        plastic = (
            synapse_rules.dopamine_state(network.plastic.weights0.astype(np.float64))
            if network.plastic is not None
            else np.zeros((0, synapse_rules.STATE_COLUMNS))
        )
        return cls(
            v=(network.v0_mv - run.neuron.e_l_mv).astype(np.float64),
            current=np.zeros(n),
            refractory=np.zeros(n, dtype=np.int32),
            buf=np.zeros((ring, n)),
            fired=np.empty(n, dtype=np.int64),
            counters=np.array([0, 0, 1, 0, 0], dtype=np.int64),
            history=synapse_rules.PostHistory.empty(n if network.plastic is not None else 0),
            plastic=plastic,
            da_times=np.zeros(1),
            da_mult=np.zeros(1),
        )


_EMPTY_CSR = (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(0, np.uint8))


class ColumnSimulator:
    """A column advanced in chunks (trials, stimuli, rewards) with its state kept between them."""

    def __init__(self, network: ColumnNetwork, run: EngineRun, threads: int = 1) -> None:
        self.network = network
        self.run = run
        self.threads = max(1, min(threads, numba.config.NUMBA_NUM_THREADS))
        self.state = EngineState.initial(network, run)
        prop = propagators(run.neuron, network.dt_ms)
        self._prop = np.array([prop.p11, prop.p22, prop.p21, prop.p20, prop.theta, prop.v_reset])
        self._ref_steps = prop.ref_steps
        self._lam = run.poisson_means(network).astype(np.float64)
        plastic = network.plastic
        if plastic is None:
            n = network.n_neurons
            self._plastic_csr = (np.zeros(n + 1, np.int64), *_EMPTY_CSR[1:])
            self._incoming = (np.zeros(n + 1, np.int64), np.zeros(0, np.int64))
            self._rules = np.zeros((1, 13))
            self._tau_minus_inv, self._deliver = 1.0 / 20.0, 0
        else:
            self._plastic_csr = (plastic.indptr, plastic.targets, plastic.delays, plastic.rule)
            self._incoming = synapse_rules.incoming(plastic.targets, network.n_neurons)
            self._rules = plastic.table
            self._tau_minus_inv, self._deliver = 1.0 / plastic.tau_minus_ms, plastic.deliver_interval
        self.source_rate_hz = np.zeros(network.n_sources)

    @property
    def step(self) -> int:
        return int(self.state.counters[STEP])

    @property
    def plastic_weights(self) -> np.ndarray:
        """(S_plastic,) current weights of the plastic synapses, in pA."""
        return self.state.plastic[:, 0].copy()

    def freeze_plasticity(self) -> None:
        """From now on every plastic synapse keeps its weight (learning rates and eligibility 0)."""
        self._rules = self._rules.copy()
        self._rules[:, [LAMBDA, A_PLUS, A_MINUS]] = 0.0
        self.state.plastic[:, 1] = 0.0

    @property
    def history_misses(self) -> int:
        return int(self.state.counters[MISSES])

    def advance(
        self, t_ms: float, record_from_step: int | None = None, dopamine_ms: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate ``t_ms`` more; returns (steps, senders) of the spikes at or after
        ``record_from_step`` (default: all of this chunk). ``dopamine_ms`` are arrival times of
        dopamine spikes at the volume transmitter within this chunk."""
        n_steps = round(t_ms / self.network.dt_ms)
        schedule = np.sort(np.asarray(dopamine_ms if dopamine_ms is not None else [], dtype=np.float64))
        state = self.state
        need = int(state.counters[N_DA]) + schedule.size
        if state.da_times.size < need:
            state.da_times = np.concatenate([state.da_times, np.zeros(need - state.da_times.size)])
            state.da_mult = np.concatenate([state.da_mult, np.zeros(need - state.da_mult.size)])
        state.counters[DA_NEXT] = 0
        previous = numba.get_num_threads()
        numba.set_num_threads(self.threads)
        try:
            return self._call(n_steps, self.step if record_from_step is None else record_from_step, schedule)
        finally:
            numba.set_num_threads(previous)

    def _call(self, n_steps: int, record_from: int, schedule: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        net, state, history = self.network, self.state, self.state.history
        steps, ids, _ = _advance(
            net.indptr, net.targets, net.weights, net.delays, *self._plastic_csr, self._rules,
            state.plastic, *self._incoming, state.v, state.current, state.refractory, state.buf, state.fired,
            state.counters, history.times, history.k_minus, history.count, history.trace, history.last,
            schedule, state.da_times, state.da_mult, net.dc_pa, self._lam,
            self.source_rate_hz.astype(np.float64), net.weight_ext_pa, self._prop, self._ref_steps,
            self._tau_minus_inv, self._deliver, net.dt_ms, n_steps, record_from,
            np.uint64(self.run.seed), numba.get_num_threads(),
        )  # fmt: skip
        return steps, ids


def run_plain(
    csr: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    v: np.ndarray,
    dc: np.ndarray,
    lam: np.ndarray,
    w_ext: float,
    prop: Propagators,
    n_steps: int,
    record_from: int,
    seed: int,
    dt: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """A bare population (no plasticity, no sources) on one thread: (steps, senders) of its spikes."""
    n = v.size
    ring = max(2, int(csr[3].max()) + 1 if csr[3].size else 2)
    history = synapse_rules.PostHistory.empty(0)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        steps, ids, _ = _advance(
            *csr, np.zeros(n + 1, np.int64), *_EMPTY_CSR[1:], np.zeros((1, 13)),
            np.zeros((0, synapse_rules.STATE_COLUMNS)), np.zeros(n + 1, np.int64), np.zeros(0, np.int64),
            v.astype(np.float64), np.zeros(n), np.zeros(n, np.int32), np.zeros((ring, n)),
            np.empty(n, np.int64), np.array([0, 0, 1, 0, 0], np.int64), history.times, history.k_minus,
            history.count, history.trace, history.last, np.zeros(0), np.zeros(1), np.zeros(1),
            dc.astype(np.float64), lam.astype(np.float64), np.zeros(0), w_ext,
            np.array([prop.p11, prop.p22, prop.p21, prop.p20, prop.theta, prop.v_reset]), prop.ref_steps,
            0.05, 0, dt, n_steps, record_from, np.uint64(seed), 1,
        )  # fmt: skip
    finally:
        numba.set_num_threads(previous)
    return steps, ids


def simulate_network(network: ColumnNetwork, run: EngineRun, threads: int = 1) -> SpikeData:
    """Run warm-up plus ``run.t_sim_ms``; record spikes after the warm-up. Deterministic for the seed.

    A spike emitted in step k (time (k+1) dt, NEST convention) is reported at that time.
    """
    # A zero-step call compiles (or loads from cache) outside the timed region.
    ColumnSimulator(network, run, threads).advance(0.0)
    return timed_run(ColumnSimulator(network, run, threads), network, run)


def timed_run(simulator: Any, network: ColumnNetwork, run: EngineRun) -> SpikeData:
    """Warm-up plus ``run.t_sim_ms`` on either engine's simulator, spikes recorded after the
    warm-up; a plastic column ends with its learned weights, or is refused if it lost history."""
    n_warm, n_steps = run.steps(network.dt_ms)
    start = time.perf_counter()
    steps, ids = simulator.advance(n_steps * network.dt_ms, record_from_step=n_warm)
    wall = time.perf_counter() - start
    if simulator.history_misses:
        raise RuntimeError(
            f"{simulator.history_misses} plastic updates needed post spikes the history had dropped"
        )
    spikes = spike_data(network, steps, ids, n_warm, n_steps, wall)
    if network.plastic is None:
        return spikes
    return replace(spikes, plastic_weights=simulator.plastic_weights)


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
