"""Plastic synapses with NEST's semantics: ``stdp_synapse``, ``stdp_nn_symm_synapse`` and
``stdp_dopamine_synapse``, as numba functions that the engines and the single-synapse replay share.

NEST updates a plastic weight lazily, when the pre-synaptic spike is sent (Morrison, Diesmann &
Gerstner 2008, Biol Cybern 98:459). The synapse then reads the post-synaptic neuron's spike
history in ``(t_last - d, t_spike - d]`` (``d`` = the synaptic delay, all of it dendritic) and
facilitates once per post spike, then depresses with the post trace at ``t_spike - d``:

- ``stdp_synapse`` (all-to-all pairing): facilitation uses the pre trace ``K+`` (one per
  synapse, +1 per pre spike, tau_plus), depression the post trace ``K-`` (+1 per post spike,
  tau_minus, a property of the post neuron). In weights normalised by ``Wmax``:
  ``w += lambda (1 - w)^mu_plus K+`` and ``w -= alpha lambda w^mu_minus K-``, clipped to [0, 1].
- ``stdp_nn_symm_synapse`` (symmetric nearest-neighbour pairing): the same update with
  ``K+ = exp(-(t_post + d - t_last)/tau_plus)`` (only the last pre spike) and
  ``K- = exp(-(t_spike - d - t_last_post)/tau_minus)`` (only the last post spike).
- ``stdp_dopamine_synapse`` (Izhikevich 2007 as written for NEST by Potjans et al. 2010): STDP
  writes the eligibility ``c`` (``+A+ K+`` at post spikes, ``-A- K-`` at pre spikes, decay
  tau_c); dopamine ``n`` is the sum of ``exp(-(t - t_da)/tau_n) / tau_n`` over the dopamine
  spikes of the volume transmitter; ``dw/dt = c (n - b)``, integrated exactly between events and
  clipped to [Wmin, Wmax]. Every ``deliver_interval`` the volume transmitter brings all its
  synapses up to date (``trigger_update``), which keeps its spike list short.

Times are in ms. Comparisons use NEST's ``stdp_eps`` (1e-6 ms) so that spikes on the same grid
point are treated exactly as NEST treats them. The post-synaptic history is a per-neuron ring of
``HISTORY`` spikes (NEST keeps an unbounded deque); a read that needed a spike the ring had already
overwritten is counted in ``history_misses`` so that the engines can report it instead of silently
learning from less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

STDP_EPS = 1e-6  # NEST ConnectionManager::get_stdp_eps(), ms
HISTORY = 64  # post spikes kept per neuron: > 25.5 ms (max delay) / 2 ms (refractory), and margin

RULE_ALL_TO_ALL = 0
RULE_NEAREST = 1

# Columns of a rule's row in the engines' rule table (``plastic_network.rule_row``).
KIND, TAU_PLUS, LAMBDA, ALPHA, MU_PLUS, MU_MINUS, W_MAX, A_PLUS, A_MINUS, TAU_C, TAU_N, B, W_MIN = range(13)
KIND_DOPAMINE = 2.0
# Columns of a plastic synapse's state: weight, eligibility c, dopamine n, pre trace K+, time of
# the last update (pre spike, or trigger), index of the last dopamine spike processed, and the
# time up to which the post history has been read (an STDP synapse may read ahead, below).
W, C, N_DA_TRACE, K_PLUS, T_LAST, DA_INDEX, T_READ = range(7)
STATE_COLUMNS = 7


@dataclass(frozen=True)
class StdpSynapseParams:
    """NEST ``stdp_synapse`` / ``stdp_nn_symm_synapse`` parameters (NEST names, NEST defaults)."""

    tau_plus_ms: float = 20.0
    lambda_: float = 0.01
    alpha: float = 1.0
    mu_plus: float = 1.0
    mu_minus: float = 1.0
    w_max: float = 100.0
    pairing: str = "all_to_all"  # or "nearest" (stdp_nn_symm_synapse)

    @property
    def rule(self) -> int:
        return RULE_NEAREST if self.pairing == "nearest" else RULE_ALL_TO_ALL


@dataclass(frozen=True)
class DopamineSynapseParams:
    """NEST ``stdp_dopamine_synapse`` parameters (NEST defaults) and the volume transmitter's
    ``deliver_interval`` in steps of the network's minimum delay."""

    a_plus: float = 1.0
    a_minus: float = 1.5
    tau_plus_ms: float = 20.0
    tau_c_ms: float = 1000.0
    tau_n_ms: float = 200.0
    b: float = 0.0
    w_min: float = 0.0
    w_max: float = 200.0
    deliver_interval: int = 1


@dataclass
class PostHistory:
    """Spike history of every neuron that can be post-synaptic to a plastic synapse.

    ``times`` / ``k_minus`` (N, HISTORY): spike times and the post trace just after each spike,
    a ring indexed by ``count % HISTORY``; ``times[:, HISTORY]`` holds the time of the last
    spike the ring overwrote (-inf: none yet); ``count`` (N,) spikes so far; ``trace`` and ``last``
    (N,) the current trace and last spike time (NEST ``ArchivingNode``).
    """

    times: np.ndarray
    k_minus: np.ndarray
    count: np.ndarray
    trace: np.ndarray
    last: np.ndarray
    misses: np.ndarray  # (1,) reads that needed an overwritten entry

    @classmethod
    def empty(cls, n: int) -> PostHistory:
        times = np.zeros((n, HISTORY + 1))
        times[:, HISTORY] = -np.inf
        return cls(
            times=times,
            k_minus=np.zeros((n, HISTORY)),
            count=np.zeros(n, dtype=np.int64),
            trace=np.zeros(n),
            last=np.full(n, -1.0),
            misses=np.zeros(1, dtype=np.int64),
        )

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.times, self.k_minus, self.count, self.trace, self.last, self.misses


@numba.njit(cache=True, inline="always")
def archive_spike(
    h_times: np.ndarray,
    h_k: np.ndarray,
    h_count: np.ndarray,
    h_trace: np.ndarray,
    h_last: np.ndarray,
    j: int,
    t: float,
    tau_minus_inv: float,
) -> None:
    """Record a spike of neuron ``j`` at ``t`` (NEST ``ArchivingNode::set_spiketime``)."""
    h_trace[j] = h_trace[j] * math.exp((h_last[j] - t) * tau_minus_inv) + 1.0
    h_last[j] = t
    slot = h_count[j] % HISTORY
    if h_count[j] >= HISTORY:
        h_times[j, HISTORY] = h_times[j, slot]  # the spike about to be overwritten
    h_times[j, slot] = t
    h_k[j, slot] = h_trace[j]
    h_count[j] += 1


@numba.njit(cache=True, inline="always")
def post_traces(
    h_times: np.ndarray, h_k: np.ndarray, h_count: np.ndarray, j: int, t: float, tau_minus_inv: float
) -> tuple[float, float]:
    """(all-to-all K-, nearest-neighbour K-) of neuron ``j`` just before ``t`` (``get_K_values``)."""
    count = h_count[j]
    oldest = max(0, count - HISTORY)
    for idx in range(count - 1, oldest - 1, -1):
        slot = idx % HISTORY
        if t - h_times[j, slot] > STDP_EPS:
            decay = math.exp((h_times[j, slot] - t) * tau_minus_inv)
            return h_k[j, slot] * decay, decay
    return 0.0, 0.0


@numba.njit(cache=True, inline="always")
def history_window(
    h_times: np.ndarray, h_count: np.ndarray, h_misses: np.ndarray, j: int, t1: float, t2: float
) -> tuple[int, int]:
    """Ring positions [first, stop) of the spikes of ``j`` in (t1, t2] (``get_history``)."""
    count = h_count[j]
    oldest = max(0, count - HISTORY)
    stop = count
    while stop > oldest and h_times[j, (stop - 1) % HISTORY] >= t2 + STDP_EPS:
        stop -= 1
    first = stop
    while first > oldest and h_times[j, (first - 1) % HISTORY] >= t1 + STDP_EPS:
        first -= 1
    if h_times[j, HISTORY] >= t1 + STDP_EPS:
        h_misses[0] += 1  # a spike of this window was overwritten before this synapse read it
    return first, stop


@numba.njit(cache=True, inline="always")
def facilitate(w: float, k: float, lam: float, mu_plus: float, w_max: float) -> float:
    norm = w / w_max + lam * (1.0 - w / w_max) ** mu_plus * k
    return norm * w_max if norm < 1.0 else w_max


@numba.njit(cache=True, inline="always")
def depress(w: float, k: float, lam: float, alpha: float, mu_minus: float, w_max: float) -> float:
    norm = w / w_max - alpha * lam * (w / w_max) ** mu_minus * k
    return norm * w_max if norm > 0.0 else 0.0


@numba.njit(cache=True)
def stdp_send(
    w: float,
    k_plus: float,
    t_last: float,
    t_read: float,
    t_spike: float,
    delay_ms: float,
    j: int,
    h_times: np.ndarray,
    h_k: np.ndarray,
    h_count: np.ndarray,
    h_misses: np.ndarray,
    tau_minus_inv: float,
    rule: int,
    tau_plus: float,
    lam: float,
    alpha: float,
    mu_plus: float,
    mu_minus: float,
    w_max: float,
) -> float:
    """The weight a pre-synaptic spike at ``t_spike`` is sent with (``stdp_synapse::send``).

    ``k_plus`` and ``t_last`` are the pre trace and the previous pre spike time before this spike;
    the caller advances them (:func:`advance_pre_trace`) and sets the synapse's ``t_read`` to
    ``t_spike - delay_ms``. Post spikes up to ``t_read`` were already applied (:func:`read_ahead`).
    """
    w = _facilitations(w, k_plus, t_last, max(t_last - delay_ms, t_read), t_spike - delay_ms, delay_ms, j,
                       h_times, h_count, h_misses, rule, tau_plus, lam, mu_plus, w_max)  # fmt: skip
    k_all, k_nearest = post_traces(h_times, h_k, h_count, j, t_spike - delay_ms, tau_minus_inv)
    return depress(w, k_nearest if rule == RULE_NEAREST else k_all, lam, alpha, mu_minus, w_max)


@numba.njit(cache=True, inline="always")
def _facilitations(
    w: float,
    k_plus: float,
    t_last: float,
    t_from: float,
    t_until: float,
    delay_ms: float,
    j: int,
    h_times: np.ndarray,
    h_count: np.ndarray,
    h_misses: np.ndarray,
    rule: int,
    tau_plus: float,
    lam: float,
    mu_plus: float,
    w_max: float,
) -> float:
    """Facilitation by each post spike of ``j`` in (t_from, t_until], in time order."""
    first, stop = history_window(h_times, h_count, h_misses, j, t_from, t_until)
    for idx in range(first, stop):
        minus_dt = t_last - (h_times[j, idx % HISTORY] + delay_ms)
        k = math.exp(minus_dt / tau_plus)
        if rule == RULE_ALL_TO_ALL:
            k *= k_plus
        w = facilitate(w, k, lam, mu_plus, w_max)
    return w


@numba.njit(cache=True)
def read_ahead(
    j: int,
    in_ptr: np.ndarray,
    in_syn: np.ndarray,
    p_delays: np.ndarray,
    p_rule: np.ndarray,
    rule_table: np.ndarray,
    state: np.ndarray,
    dt: float,
    h_times: np.ndarray,
    h_count: np.ndarray,
    h_misses: np.ndarray,
) -> None:
    """Before neuron ``j``'s oldest history entry is overwritten, every STDP synapse onto ``j``
    that has not read it applies the facilitations it is due up to that entry.

    NEST keeps a post spike until every incoming synapse has read it, so a pre-synaptic neuron
    silent for long still pairs its next spike with the post spikes that followed its last one
    (the strongest pairs). Applying those facilitations early, in the same order, gives the same
    weights: nothing else touches an STDP weight between two of its pre spikes. Dopamine
    synapses read the history at every volume-transmitter trigger and never fall behind.
    """
    if h_count[j] < HISTORY:
        return
    t_oldest = h_times[j, h_count[j] % HISTORY]
    for q in range(in_ptr[j], in_ptr[j + 1]):
        k = in_syn[q]
        r = rule_table[p_rule[k]]
        if r[KIND] == KIND_DOPAMINE:
            continue
        delay_ms = p_delays[k] * dt
        t_from = max(state[k, T_LAST] - delay_ms, state[k, T_READ])
        if t_oldest < t_from + STDP_EPS:
            continue
        state[k, W] = _facilitations(
            state[k, W], state[k, K_PLUS], state[k, T_LAST], t_from, t_oldest, delay_ms, j,
            h_times, h_count, h_misses, int(r[KIND]), r[TAU_PLUS], r[LAMBDA], r[MU_PLUS], r[W_MAX],
        )  # fmt: skip
        state[k, T_READ] = t_oldest


@numba.njit(cache=True, inline="always")
def advance_pre_trace(k_plus: float, t_last: float, t_spike: float, tau_plus: float) -> float:
    """The pre trace just after a spike at ``t_spike`` (the previous one was at ``t_last``)."""
    return k_plus * math.exp((t_last - t_spike) / tau_plus) + 1.0


# --- stdp_dopamine_synapse ----------------------------------------------------------------------
# Per synapse: w, c, n, k_plus, t_last_update (ms) and the index of the last dopamine spike it has
# processed in the volume transmitter's list (``da_times``/``da_mult``, entry 0 is the pseudo spike
# at the last trigger, multiplicity 0, as in NEST).


@numba.njit(cache=True, inline="always")
def _dopamine_weight_step(
    w: float,
    c0: float,
    n0: float,
    minus_dt: float,
    tau_c: float,
    tau_n: float,
    b: float,
    w_min: float,
    w_max: float,
) -> float:
    """Exact integral of dw/dt = c (n - b) over an interval of length -minus_dt, then clipped."""
    taus = (tau_c + tau_n) / (tau_c * tau_n)
    w -= c0 * (n0 / taus * math.expm1(taus * minus_dt) - b * tau_c * math.expm1(minus_dt / tau_c))
    return min(max(w, w_min), w_max)


@numba.njit(cache=True)
def _process_dopamine(
    state: np.ndarray,
    k: int,
    t0: float,
    t1: float,
    da_times: np.ndarray,
    da_mult: np.ndarray,
    n_da: int,
    tau_c: float,
    tau_n: float,
    b: float,
    w_min: float,
    w_max: float,
) -> None:
    """Advance synapse ``k`` from t0 to t1 through the dopamine spikes in (t0, t1].

    ``state`` (S, 7): see ``W`` ... ``T_READ`` (NEST ``process_dopa_spikes_``).
    """
    w, c, n = state[k, 0], state[k, 1], state[k, 2]
    idx = int(state[k, 5])
    if idx + 1 < n_da and t1 - da_times[idx + 1] > -STDP_EPS:
        n0 = n * math.exp((da_times[idx] - t0) / tau_n)
        w = _dopamine_weight_step(w, c, n0, t0 - da_times[idx + 1], tau_c, tau_n, b, w_min, w_max)
        n = n * math.exp((da_times[idx] - da_times[idx + 1]) / tau_n) + da_mult[idx + 1] / tau_n
        idx += 1
        while idx + 1 < n_da and t1 - da_times[idx + 1] > -STDP_EPS:
            cd = c * math.exp((t0 - da_times[idx]) / tau_c)
            w = _dopamine_weight_step(
                w, cd, n, da_times[idx] - da_times[idx + 1], tau_c, tau_n, b, w_min, w_max
            )
            n = n * math.exp((da_times[idx] - da_times[idx + 1]) / tau_n) + da_mult[idx + 1] / tau_n
            idx += 1
        cd = c * math.exp((t0 - da_times[idx]) / tau_c)
        w = _dopamine_weight_step(w, cd, n, da_times[idx] - t1, tau_c, tau_n, b, w_min, w_max)
    else:
        n0 = n * math.exp((da_times[idx] - t0) / tau_n)
        w = _dopamine_weight_step(w, c, n0, t0 - t1, tau_c, tau_n, b, w_min, w_max)
    state[k, 0] = w
    state[k, 1] = c * math.exp((t0 - t1) / tau_c)
    state[k, 2] = n
    state[k, 5] = idx


@numba.njit(cache=True)
def _dopamine_facilitations(
    state: np.ndarray,
    k: int,
    t_until: float,
    t_spike: float,
    delay_ms: float,
    j: int,
    h_times: np.ndarray,
    h_count: np.ndarray,
    h_misses: np.ndarray,
    da_times: np.ndarray,
    da_mult: np.ndarray,
    n_da: int,
    a_plus: float,
    tau_plus: float,
    tau_c: float,
    tau_n: float,
    b: float,
    w_min: float,
    w_max: float,
) -> float:
    """Eligibility from the post spikes in (t_last_update - d, t_until - d]; returns the time reached.

    ``t_spike`` is the pre spike being sent, or NaN for a trigger (NEST skips facilitation by a post
    spike at the pre spike's own time only when sending).
    """
    t_last = state[k, 4]
    t0 = t_last
    first, stop = history_window(h_times, h_count, h_misses, j, t_last - delay_ms, t_until - delay_ms)
    for idx in range(first, stop):
        t_post = h_times[j, idx % HISTORY]
        _process_dopamine(
            state, k, t0, t_post + delay_ms, da_times, da_mult, n_da, tau_c, tau_n, b, w_min, w_max
        )
        t0 = t_post + delay_ms
        if not (t_spike - t_post <= STDP_EPS):  # also true for a trigger (NaN)
            state[k, 1] += a_plus * state[k, 3] * math.exp((t_last - t0) / tau_plus)
    return t0


@numba.njit(cache=True)
def dopamine_send(
    state: np.ndarray,
    k: int,
    t_spike: float,
    delay_ms: float,
    j: int,
    h_times: np.ndarray,
    h_k: np.ndarray,
    h_count: np.ndarray,
    h_misses: np.ndarray,
    tau_minus_inv: float,
    da_times: np.ndarray,
    da_mult: np.ndarray,
    n_da: int,
    a_plus: float,
    a_minus: float,
    tau_plus: float,
    tau_c: float,
    tau_n: float,
    b: float,
    w_min: float,
    w_max: float,
) -> float:
    """The weight a pre spike at ``t_spike`` is sent with (``stdp_dopamine_synapse::send``)."""
    t0 = _dopamine_facilitations(
        state, k, t_spike, t_spike, delay_ms, j, h_times, h_count, h_misses,
        da_times, da_mult, n_da, a_plus, tau_plus, tau_c, tau_n, b, w_min, w_max,
    )  # fmt: skip
    _process_dopamine(state, k, t0, t_spike, da_times, da_mult, n_da, tau_c, tau_n, b, w_min, w_max)
    state[k, 1] -= a_minus * post_traces(h_times, h_k, h_count, j, t_spike - delay_ms, tau_minus_inv)[0]
    state[k, 3] = advance_pre_trace(state[k, 3], state[k, 4], t_spike, tau_plus)
    state[k, 4] = t_spike
    return state[k, 0]


@numba.njit(cache=True)
def dopamine_trigger(
    state: np.ndarray,
    k: int,
    t_trig: float,
    delay_ms: float,
    j: int,
    h_times: np.ndarray,
    h_count: np.ndarray,
    h_misses: np.ndarray,
    da_times: np.ndarray,
    da_mult: np.ndarray,
    n_da: int,
    a_plus: float,
    tau_plus: float,
    tau_c: float,
    tau_n: float,
    b: float,
    w_min: float,
    w_max: float,
) -> None:
    """Bring synapse ``k`` up to ``t_trig`` (``stdp_dopamine_synapse::trigger_update_weight``).

    The caller then replaces the volume transmitter's list by the pseudo spike (t_trig, 0).
    """
    t0 = _dopamine_facilitations(
        state, k, t_trig, math.nan, delay_ms, j, h_times, h_count, h_misses,
        da_times, da_mult, n_da, a_plus, tau_plus, tau_c, tau_n, b, w_min, w_max,
    )  # fmt: skip
    _process_dopamine(state, k, t0, t_trig, da_times, da_mult, n_da, tau_c, tau_n, b, w_min, w_max)
    idx = int(state[k, 5])
    state[k, 2] *= math.exp((da_times[idx] - t_trig) / tau_n)
    state[k, 3] *= math.exp((state[k, 4] - t_trig) / tau_plus)
    state[k, 4] = t_trig
    state[k, 5] = 0


def dopamine_state(weights: np.ndarray) -> np.ndarray:
    """(S, 7) initial state of plastic synapses: the weights, every trace at 0, updated at t = 0,
    nothing of the post history read yet."""
    state = np.zeros((weights.size, STATE_COLUMNS))
    state[:, W] = weights
    state[:, T_READ] = -np.inf
    return state


def incoming(targets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSC view of plastic synapses: (N+1,) pointers and the synapse ids onto each neuron."""
    order = np.argsort(targets, kind="stable").astype(np.int64)
    return np.concatenate([[0], np.cumsum(np.bincount(targets, minlength=n))]).astype(np.int64), order
