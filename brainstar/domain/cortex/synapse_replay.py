"""One plastic synapse driven by given spike trains: the engines' synapse code outside a network.

This is the counterpart of NEST's test set-up (spike generators into parrot neurons, the plastic
synapse onto the post parrot's port 1 so it never makes the post neuron fire): pre, post and
dopamine spike times are given, and the weight is read each time the pre neuron sends a spike,
as NEST's ``weight_recorder`` does. Events are processed in NEST's order: in slices of the
minimum delay, first the spikes emitted in the previous slice are sent through the synapse, then
the neurons' spikes of this slice are archived and the volume transmitter collects its dopamine
spikes, and at the end of every ``deliver_interval`` slices the volume transmitter brings the
dopamine synapse up to date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainstar.domain.cortex import synapse_rules as rules

# Delays are whole steps of this resolution, in NEST and in the engines.
RESOLUTION_MS = 0.1


@dataclass(frozen=True)
class WeightTrace:
    """Weights ``weights`` (K,) sent at the pre spikes ``times_ms`` (K,), and the weight at the
    end of the replay (a dopamine synapse keeps changing between pre spikes)."""

    times_ms: np.ndarray
    weights: np.ndarray
    final_weight: float


def _slice_of(times: np.ndarray, min_delay_ms: float) -> np.ndarray:
    """Index of the min-delay slice (T, T + min_delay] that holds each spike stamp."""
    return np.ceil(np.round(np.asarray(times, dtype=float) / min_delay_ms, 6)).astype(np.int64) - 1


def replay(
    pre_ms: np.ndarray,
    post_ms: np.ndarray,
    delay_ms: float,
    w0: float,
    params: rules.StdpSynapseParams | rules.DopamineSynapseParams,
    tau_minus_ms: float = 20.0,
    dopamine_ms: np.ndarray | None = None,
    min_delay_ms: float | None = None,
    t_stop_ms: float | None = None,
) -> WeightTrace:
    """Weight at every pre spike. ``dopamine_ms`` are the spikes' arrival times at the volume
    transmitter (dopamine synapses only); ``min_delay_ms`` defaults to ``delay_ms``; the replay
    runs until ``t_stop_ms`` (default: one slice after the last spike)."""
    pre = np.sort(np.asarray(pre_ms, dtype=float))
    post = np.sort(np.asarray(post_ms, dtype=float))
    dopamine = np.sort(np.asarray(dopamine_ms if dopamine_ms is not None else [], dtype=float))
    min_delay = min_delay_ms or delay_ms
    history = rules.PostHistory.empty(1)
    h_times, h_k, h_count, h_trace, h_last, h_misses = history.arrays()
    tau_minus_inv = 1.0 / tau_minus_ms
    is_dopamine = isinstance(params, rules.DopamineSynapseParams)
    state = rules.dopamine_state(np.array([w0]))
    da_times, da_mult, n_da = np.zeros(len(dopamine) + 1), np.zeros(len(dopamine) + 1), 1
    # One synapse onto neuron 0, for the history's read-ahead (rules.read_ahead).
    from brainstar.domain.cortex.plastic_network import rule_row

    in_ptr, in_syn = np.array([0, 1], dtype=np.int64), np.array([0], dtype=np.int64)
    delay_steps = np.array([delay_ms / RESOLUTION_MS])
    table, rule_of = rule_row(params, params.w_max)[None, :], np.zeros(1, dtype=np.uint8)
    pre_slice, post_slice, da_slice = (_slice_of(x, min_delay) for x in (pre, post, dopamine))
    n_slices = int(max([0, *(s.max() + 2 for s in (pre_slice, post_slice, da_slice) if s.size)]))
    if t_stop_ms is not None:
        n_slices = round(t_stop_ms / min_delay)
    sent = np.empty(pre.size)
    n_sent = 0
    # Only slices with an event (or, for a dopamine synapse, a trigger) change anything.
    sent_in = pre_slice + 1  # a spike is sent at the start of the slice after it was emitted
    busy = np.unique(np.concatenate([sent_in, post_slice, da_slice]))
    if is_dopamine:
        busy = np.union1d(busy, np.arange(params.deliver_interval - 1, n_slices, params.deliver_interval))
    busy = busy[busy < n_slices]
    ranges = [
        (np.searchsorted(x, busy, side="left"), np.searchsorted(x, busy, side="right"))
        for x in (sent_in, post_slice, da_slice)
    ]
    (pre_lo, pre_hi), (post_lo, post_hi), (da_lo, da_hi) = ranges
    for index, s in enumerate(busy):
        for t_spike in pre[pre_lo[index] : pre_hi[index]]:
            if is_dopamine:
                sent[n_sent] = rules.dopamine_send(
                    state, 0, t_spike, delay_ms, 0, h_times, h_k, h_count, h_misses, tau_minus_inv,
                    da_times, da_mult, n_da, params.a_plus, params.a_minus, params.tau_plus_ms,
                    params.tau_c_ms, params.tau_n_ms, params.b, params.w_min, params.w_max,
                )  # fmt: skip
            else:
                w = rules.stdp_send(
                    state[0, rules.W], state[0, rules.K_PLUS], state[0, rules.T_LAST], state[0, rules.T_READ],
                    t_spike, delay_ms, 0, h_times, h_k, h_count, h_misses, tau_minus_inv, params.rule,
                    params.tau_plus_ms, params.lambda_, params.alpha, params.mu_plus, params.mu_minus,
                    params.w_max,
                )  # fmt: skip
                state[0, rules.W] = w
                state[0, rules.K_PLUS] = rules.advance_pre_trace(
                    state[0, rules.K_PLUS], state[0, rules.T_LAST], t_spike, params.tau_plus_ms
                )
                state[0, rules.T_LAST] = t_spike
                state[0, rules.T_READ] = t_spike - delay_ms
                sent[n_sent] = w
            n_sent += 1
        for t_post in post[post_lo[index] : post_hi[index]]:
            rules.read_ahead(
                0,
                in_ptr,
                in_syn,
                delay_steps,
                rule_of,
                table,
                state,
                RESOLUTION_MS,
                h_times,
                h_count,
                h_misses,
            )
            rules.archive_spike(h_times, h_k, h_count, h_trace, h_last, 0, t_post, tau_minus_inv)
        for t_da in dopamine[da_lo[index] : da_hi[index]]:
            da_times[n_da], da_mult[n_da] = t_da, 1.0
            n_da += 1
        if is_dopamine and (s + 1) % params.deliver_interval == 0:
            t_trig = (s + 1) * min_delay
            rules.dopamine_trigger(
                state, 0, t_trig, delay_ms, 0, h_times, h_count, h_misses, da_times, da_mult, n_da,
                params.a_plus, params.tau_plus_ms, params.tau_c_ms, params.tau_n_ms, params.b,
                params.w_min, params.w_max,
            )  # fmt: skip
            da_times[0], da_mult[0], n_da = t_trig, 0.0, 1
    if h_misses[0]:
        raise RuntimeError(f"post history ring of {rules.HISTORY} spikes overflowed {h_misses[0]} times")
    final = float(state[0, rules.W])
    return WeightTrace(times_ms=pre[:n_sent], weights=sent[:n_sent], final_weight=final)
