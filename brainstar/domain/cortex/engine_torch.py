"""GPU engine: the same model as ``engine_numba`` written with torch tensors on any device.

Same exact-integration ``iaf_psc_exp`` update, ring buffer and CSR rows; spikes of one step are
delivered with one ``index_add_`` over the concatenated rows of the neurons that fired. Random
numbers come from torch's generator, so spike trains differ from the numba engine's; the two are
compared statistically (population rates), as ports of PD14 are (Senk et al. 2026).

The last ``network.n_sources`` neurons are Poisson spike sources (the thalamus), as in the numba
engine. Plastic synapses follow :mod:`synapse_rules` (NEST's ``stdp_synapse``,
``stdp_nn_symm_synapse`` and ``stdp_dopamine_synapse``) in the same event order as
``engine_numba._advance``: at the start of a step the spikes of the previous step are sent
through their synapses (each synapse reads its target's spike history, then its weight is
delivered), then the neurons update and the post-synaptic history archives their spikes, then
the volume transmitter collects its dopamine and, every ``deliver_interval`` steps, brings every
dopamine synapse up to date. Each step's sends are vectorised across the synapses of the neurons
that fired; the post spikes in a synapse's window are applied one after another (the weight is
clipped after each), looping only as many times as the longest window of that step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from brainstar.domain.cortex.engine_numba import (
    A_MINUS,
    A_PLUS,
    ALPHA,
    KIND,
    KIND_DOPAMINE,
    LAMBDA,
    MU_MINUS,
    MU_PLUS,
    TAU_C,
    TAU_N,
    TAU_PLUS,
    W_MAX,
    W_MIN,
    B,
    EngineRun,
    SpikeData,
    propagators,
    timed_run,
)
from brainstar.domain.cortex.network import ColumnNetwork
from brainstar.domain.cortex.synapse_rules import HISTORY, RULE_NEAREST, STDP_EPS

if TYPE_CHECKING:
    import torch


def _rows(indptr: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Positions of the concatenated CSR rows of ``ids`` (empty when they have none)."""
    import torch

    first = indptr[ids]
    counts = indptr[ids + 1] - first
    total = int(counts.sum())
    if not total:
        return torch.zeros(0, dtype=torch.int64, device=indptr.device)
    row_start = torch.cumsum(counts, 0) - counts
    return torch.repeat_interleave(first - row_start, counts) + torch.arange(total, device=indptr.device)


@dataclass
class _Synapses:
    """Plastic state of M synapses being updated, gathered from the (S,) tensors, with their
    targets, delays (ms) and rule rows (M, 13)."""

    w: torch.Tensor
    c: torch.Tensor
    n: torch.Tensor
    k_plus: torch.Tensor
    t_last: torch.Tensor
    da_index: torch.Tensor
    target: torch.Tensor
    delay_ms: torch.Tensor
    rule: torch.Tensor

    def subset(self, index: torch.Tensor) -> _Synapses:
        return _Synapses(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})

    def update(self, index: torch.Tensor, part: _Synapses) -> None:
        """Write the evolving fields of ``part`` (= ``subset(index)``) back into these."""
        for name in ("w", "c", "n", "k_plus", "t_last", "da_index"):
            getattr(self, name)[index] = getattr(part, name)


class TorchColumnSimulator:
    """A column advanced in chunks with its state kept between them (``ColumnSimulator``'s API).

    Neuron state is in ``dtype``; the plastic synapses' state and the spike history are in
    ``plastic_dtype`` (float64 by default, so that they follow the replay of their spikes as
    tightly as the numba engine's do).
    """

    def __init__(
        self,
        network: ColumnNetwork,
        run: EngineRun,
        device: str = "cpu",
        dtype: str = "float32",
        plastic_dtype: str = "float64",
    ) -> None:
        import torch

        self.network = network
        self.run = run
        dev = self.device = torch.device(device)
        tdtype = self.dtype = getattr(torch, dtype)
        self.plastic_dtype = getattr(torch, plastic_dtype)
        self.prop = propagators(run.neuron, network.dt_ms)
        n = self.n = network.n_neurons
        m = self.m = n - network.n_sources  # iaf_psc_exp neurons; the rest are sources
        plastic = network.plastic
        delays = [network.delays] + ([plastic.delays] if plastic is not None else [])
        self.ring = max([2, *(int(d.max()) + 1 for d in delays if d.size)])
        self.indptr = torch.as_tensor(network.indptr, device=dev)
        self.targets = torch.as_tensor(network.targets.astype(np.int64), device=dev)
        self.weights = torch.as_tensor(network.weights, device=dev, dtype=tdtype)
        self.delays = torch.as_tensor(network.delays.astype(np.int64), device=dev)
        self.v = torch.as_tensor(network.v0_mv[:m] - run.neuron.e_l_mv, device=dev, dtype=tdtype)
        self.dc = torch.as_tensor(network.dc_pa[:m], device=dev, dtype=tdtype)
        self.lam = torch.as_tensor(run.poisson_means(network)[:m], device=dev, dtype=tdtype)
        self.current = torch.zeros(m, device=dev, dtype=tdtype)
        self.buf = torch.zeros(self.ring * n, device=dev, dtype=tdtype)
        self.refractory = torch.zeros(m, device=dev, dtype=torch.int32)
        self.generator = torch.Generator(device=dev)
        self.generator.manual_seed(run.seed)
        self.fired = torch.zeros(0, dtype=torch.int64, device=dev)
        self.step = 0
        self.source_rate_hz = np.zeros(network.n_sources)
        self._misses = torch.zeros((), dtype=torch.int64, device=dev)
        self._slots = torch.arange(HISTORY, device=dev)
        # The volume transmitter's dopamine spikes since its last update; entry 0 is the pseudo
        # spike at that update (multiplicity 0), as in NEST and the numba engine.
        self._da_times, self._da_mult = [0.0], [0.0]
        self._init_plastic()

    def _init_plastic(self) -> None:
        import torch

        plastic, dev, n, pdtype = self.network.plastic, self.device, self.n, self.plastic_dtype
        self.has_plastic = plastic is not None and plastic.n_synapses > 0
        if not self.has_plastic:
            self.p_w = torch.zeros(0, dtype=pdtype, device=dev)
            self.deliver_interval = 0
            return
        self.p_indptr = torch.as_tensor(plastic.indptr, device=dev)
        self.p_targets = torch.as_tensor(plastic.targets.astype(np.int64), device=dev)
        self.p_delays = torch.as_tensor(plastic.delays.astype(np.int64), device=dev)
        self.p_delay_ms = self.p_delays.to(pdtype) * self.network.dt_ms
        self.p_rule = torch.as_tensor(plastic.rule.astype(np.int64), device=dev)
        self.p_table = torch.as_tensor(plastic.table, dtype=pdtype, device=dev)
        s = plastic.n_synapses
        self.p_w = torch.as_tensor(plastic.weights0, dtype=pdtype, device=dev).clone()
        self.p_c = torch.zeros(s, dtype=pdtype, device=dev)
        self.p_n = torch.zeros(s, dtype=pdtype, device=dev)
        self.p_k_plus = torch.zeros(s, dtype=pdtype, device=dev)
        self.p_t_last = torch.zeros(s, dtype=pdtype, device=dev)
        self.p_da_index = torch.zeros(s, dtype=torch.int64, device=dev)
        dopamine = (plastic.table[plastic.rule, KIND] == KIND_DOPAMINE).astype(bool)
        self.p_is_dopamine = torch.as_tensor(dopamine, device=dev)
        self.n_dopamine = int(dopamine.sum())
        self.dopamine_ids = torch.as_tensor(np.flatnonzero(dopamine), device=dev)
        self._dopamine_rules = self.p_table[self.p_rule[self.dopamine_ids]]  # constant: gathered once
        self.tau_minus_inv = 1.0 / plastic.tau_minus_ms
        self.deliver_interval = plastic.deliver_interval
        self.h_times = torch.zeros((n, HISTORY), dtype=pdtype, device=dev)
        self.h_k = torch.zeros((n, HISTORY), dtype=pdtype, device=dev)
        self.h_count = torch.zeros(n, dtype=torch.int64, device=dev)
        self.h_trace = torch.zeros(n, dtype=pdtype, device=dev)
        self.h_last = torch.full((n,), -1.0, dtype=pdtype, device=dev)

    @property
    def plastic_weights(self) -> np.ndarray:
        """(S_plastic,) current weights of the plastic synapses, in pA."""
        return self.p_w.cpu().numpy().copy()

    def freeze_plasticity(self) -> None:
        """From now on every plastic synapse keeps its weight (learning rates and eligibility 0),
        as ``ColumnSimulator.freeze_plasticity``."""
        if not self.has_plastic:
            return
        self.p_table = self.p_table.clone()
        self.p_table[:, [LAMBDA, A_PLUS, A_MINUS]] = 0.0
        self._dopamine_rules = self.p_table[self.p_rule[self.dopamine_ids]]
        self.p_c.zero_()

    @property
    def history_misses(self) -> int:
        """Plastic updates that needed a post spike the history ring had already dropped."""
        return int(self._misses)

    def advance(
        self, t_ms: float, record_from_step: int | None = None, dopamine_ms: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate ``t_ms`` more; returns (steps, senders) of the spikes at or after
        ``record_from_step`` (default: all of this chunk). ``dopamine_ms`` are arrival times of
        dopamine spikes at the volume transmitter within this chunk."""
        import torch

        dt, prop, n, m, ring = self.network.dt_ms, self.prop, self.n, self.m, self.ring
        n_steps = round(t_ms / dt)
        record_from = self.step if record_from_step is None else record_from_step
        schedule = np.sort(np.asarray(dopamine_ms if dopamine_ms is not None else [], dtype=np.float64))
        da_next = 0
        n_src = self.network.n_sources
        p_source = torch.as_tensor(
            np.asarray(self.source_rate_hz, dtype=np.float64) * dt * 1e-3, device=self.device
        )
        w_ext = self.network.weight_ext_pa
        rec_steps: list[torch.Tensor] = []
        rec_ids: list[torch.Tensor] = []
        v, current, refractory = self.v, self.current, self.refractory
        for step in range(self.step, self.step + n_steps):
            slot = step % ring
            if self.fired.numel():
                self._deliver(self.fired, step)
            free = refractory == 0
            v = torch.where(free, v * prop.p22 + current * prop.p21 + self.dc * prop.p20, v)
            refractory = torch.where(free, refractory, refractory - 1)
            row = self.buf[slot * n : (slot + 1) * n]
            current = current * prop.p11 + row[:m]
            row.zero_()
            if self.run.poisson_input:
                current = current + w_ext * torch.poisson(self.lam, generator=self.generator)
            spiked = v >= prop.theta
            v = torch.where(spiked, torch.full_like(v, prop.v_reset), v)
            refractory = torch.where(spiked, torch.full_like(refractory, prop.ref_steps), refractory)
            ids = spiked.nonzero().squeeze(1)
            if n_src:
                drawn = torch.rand(n_src, generator=self.generator, device=self.device, dtype=torch.float64)
                ids = torch.cat([ids, (drawn < p_source).nonzero().squeeze(1) + m])
            self.fired = ids
            if ids.numel():
                if self.has_plastic:
                    self._archive(ids, (step + 1) * dt)
                if step >= record_from:
                    rec_steps.append(torch.full_like(ids, step))
                    rec_ids.append(ids)
            t_end = (step + 1) * dt
            while da_next < schedule.size and schedule[da_next] <= t_end + 1e-9:
                self._da_times.append(t_end)
                self._da_mult.append(1.0)
                da_next += 1
            if self.deliver_interval > 0 and (step + 1) % self.deliver_interval == 0:
                if self.n_dopamine:
                    self._trigger(t_end)
                self._da_times, self._da_mult = [t_end], [0.0]
        self.v, self.current, self.refractory = v, current, refractory
        self.step += n_steps
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        steps = torch.cat(rec_steps).cpu().numpy() if rec_steps else np.zeros(0, np.int64)
        senders = torch.cat(rec_ids).cpu().numpy() if rec_ids else np.zeros(0, np.int64)
        return steps, senders

    # --- delivery --------------------------------------------------------------------------

    def _deliver(self, ids: torch.Tensor, step: int) -> None:
        """Send the spikes of ``ids`` emitted in step ``step - 1`` through their synapses."""
        import torch

        emitted = (step - 1) % self.ring
        syn = _rows(self.indptr, ids)
        if syn.numel():
            flat = ((emitted + self.delays[syn]) % self.ring) * self.n + self.targets[syn]
            self.buf.index_add_(0, flat, self.weights[syn])
        if not self.has_plastic:
            return
        syn = _rows(self.p_indptr, ids)
        if not syn.numel():
            return
        t_emit = step * self.network.dt_ms  # a spike of step k is stamped (k + 1) dt
        if self.n_dopamine == 0:
            sent = self._stdp_send(syn, t_emit)
        elif self.n_dopamine == self.p_w.numel():
            sent = self._dopamine_send(syn, t_emit)
        else:
            sent = torch.empty(syn.numel(), dtype=self.p_w.dtype, device=self.device)
            dopamine = self.p_is_dopamine[syn]
            for part, send in ((~dopamine, self._stdp_send), (dopamine, self._dopamine_send)):
                index = part.nonzero().squeeze(1)
                if index.numel():
                    sent[index] = send(syn[index], t_emit)
        flat = ((emitted + self.p_delays[syn]) % self.ring) * self.n + self.p_targets[syn]
        self.buf.index_add_(0, flat, sent.to(self.buf.dtype))

    # --- post-synaptic spike history (NEST ArchivingNode) -----------------------------------

    def _archive(self, ids: torch.Tensor, t: float) -> None:
        """Record a spike at ``t`` of each of ``ids`` (distinct): ``synapse_rules.archive_spike``."""
        import torch

        trace = self.h_trace[ids] * torch.exp((self.h_last[ids] - t) * self.tau_minus_inv) + 1.0
        self.h_trace[ids] = trace
        self.h_last[ids] = t
        slot = self.h_count[ids] % HISTORY
        self.h_times[ids, slot] = t
        self.h_k[ids, slot] = trace
        self.h_count[ids] += 1

    def _ring(self, j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(M, HISTORY) spike times of neurons ``j``, which ring slots hold a spike, and the
        absolute index of the oldest spike still held (NEST keeps them all)."""
        count = self.h_count[j]
        return self.h_times[j], self._slots < count[:, None], (count - HISTORY).clamp(min=0)

    def _window(
        self, j: torch.Tensor, t1: torch.Tensor, t2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(first absolute index, length) of the spikes of ``j`` in (t1, t2] (``history_window``).

        Spike times of a neuron increase along the ring, so counting the held spikes before a
        bound finds the same positions as walking back from the newest one. Only targets whose
        newest spike is not before the window can have one in it: the ring is read for those.
        """
        import torch

        first = torch.zeros_like(j)
        length = torch.zeros_like(j)
        low = t1 + STDP_EPS
        candidates = (self.h_last[j] >= low).nonzero().squeeze(1)
        if candidates.numel():
            times, valid, oldest = self._ring(j[candidates])
            before1 = (valid & (times < low[candidates, None])).sum(1)
            before2 = (valid & (times < (t2[candidates] + STDP_EPS)[:, None])).sum(1)
            self._misses += ((before1 == 0) & (oldest > 0) & (before2 > 0)).sum()
            first[candidates] = oldest + before1
            length[candidates] = before2 - before1
        return first, length

    def _spike_at(self, j: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.h_times[j, index % HISTORY]

    def _post_traces(self, j: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(all-to-all K-, nearest K-) of ``j`` just before ``t`` (``post_traces``): from the last
        spike more than eps before ``t``, usually the newest one (whose trace is ``h_trace``)."""
        import torch

        last = self.h_last[j]
        decay = torch.exp((last - t) * self.tau_minus_inv)
        k_all = self.h_trace[j] * decay
        found = self.h_count[j] > 0
        recent = (found & ~((t - last) > STDP_EPS)).nonzero().squeeze(1)
        if recent.numel():
            jr, tr = j[recent], t[recent]
            times, valid, oldest = self._ring(jr)
            before = (valid & ((tr[:, None] - times) > STDP_EPS)).sum(1)
            slot = (oldest + before - 1) % HISTORY
            decay[recent] = torch.exp((self.h_times[jr, slot] - tr) * self.tau_minus_inv)
            k_all[recent] = self.h_k[jr, slot] * decay[recent]
            found[recent] = before > 0
        zero = torch.zeros_like(decay)
        return torch.where(found, k_all, zero), torch.where(found, decay, zero)

    # --- stdp_synapse / stdp_nn_symm_synapse ------------------------------------------------

    def _gather(self, syn: torch.Tensor, rule: torch.Tensor | None = None) -> _Synapses:
        # index_select / index_copy_ take half the time of tensor[index] on CPU (measured here).
        return _Synapses(
            w=self.p_w.index_select(0, syn),
            c=self.p_c.index_select(0, syn),
            n=self.p_n.index_select(0, syn),
            k_plus=self.p_k_plus.index_select(0, syn),
            t_last=self.p_t_last.index_select(0, syn),
            da_index=self.p_da_index.index_select(0, syn),
            delay_ms=self.p_delay_ms.index_select(0, syn),
            target=self.p_targets.index_select(0, syn),
            rule=self.p_table.index_select(0, self.p_rule.index_select(0, syn)) if rule is None else rule,
        )

    def _scatter(self, syn: torch.Tensor, s: _Synapses, dopamine: bool) -> None:
        self.p_w.index_copy_(0, syn, s.w)
        self.p_k_plus.index_copy_(0, syn, s.k_plus)
        self.p_t_last.index_copy_(0, syn, s.t_last)
        if dopamine:  # STDP synapses leave c, n and the dopamine index alone
            self.p_c.index_copy_(0, syn, s.c)
            self.p_n.index_copy_(0, syn, s.n)
            self.p_da_index.index_copy_(0, syn, s.da_index)

    def _stdp_send(self, syn: torch.Tensor, t_emit: float) -> torch.Tensor:
        """Weights the synapses ``syn`` send a spike at ``t_emit`` with (``stdp_send``)."""
        import torch

        s = self._gather(syn)
        r, d = s.rule, s.delay_ms
        tau_plus, lam, w_max = r[:, TAU_PLUS], r[:, LAMBDA], r[:, W_MAX]
        nearest = r[:, KIND] == RULE_NEAREST
        first, length = self._window(s.target, s.t_last - d, t_emit - d)
        busy = length.nonzero().squeeze(1)
        if busy.numel():
            # Facilitation once per post spike, in time order: each is clipped before the next.
            b = s.subset(busy)
            rb, lb, fb, nb = b.rule, length[busy], first[busy], nearest[busy]
            for offset in range(int(lb.max())):
                t_post = self._spike_at(b.target, fb + offset)
                k = torch.exp((b.t_last - (t_post + b.delay_ms)) / rb[:, TAU_PLUS])
                k = torch.where(nb, k, k * b.k_plus)
                wm = rb[:, W_MAX]
                norm = b.w / wm + rb[:, LAMBDA] * (1.0 - b.w / wm) ** rb[:, MU_PLUS] * k
                b.w = torch.where(offset < lb, torch.where(norm < 1.0, norm * wm, wm), b.w)
            s.w[busy] = b.w
        k_all, k_nearest = self._post_traces(s.target, t_emit - d)
        k = torch.where(nearest, k_nearest, k_all)
        norm = s.w / w_max - r[:, ALPHA] * lam * (s.w / w_max) ** r[:, MU_MINUS] * k
        s.w = torch.where(norm > 0.0, norm * w_max, torch.zeros_like(norm))
        s.k_plus = s.k_plus * torch.exp((s.t_last - t_emit) / tau_plus) + 1.0
        s.t_last = torch.full_like(s.t_last, t_emit)
        self._scatter(syn, s, dopamine=False)
        return s.w

    # --- stdp_dopamine_synapse ---------------------------------------------------------------

    def _dopamine_list(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        import torch

        times = torch.tensor(self._da_times, dtype=self.plastic_dtype, device=self.device)
        mult = torch.tensor(self._da_mult, dtype=self.plastic_dtype, device=self.device)
        return times, mult, len(self._da_times)

    @staticmethod
    def _weight_step(
        s: _Synapses, w: torch.Tensor, c0: torch.Tensor, n0: torch.Tensor, minus_dt: torch.Tensor
    ) -> torch.Tensor:
        """Exact integral of dw/dt = c (n - b) over -minus_dt, clipped (``_dopamine_weight_step``)."""
        import torch

        r = s.rule
        tau_c, tau_n = r[:, TAU_C], r[:, TAU_N]
        taus = (tau_c + tau_n) / (tau_c * tau_n)
        w = w - c0 * (
            n0 / taus * torch.expm1(taus * minus_dt) - r[:, B] * tau_c * torch.expm1(minus_dt / tau_c)
        )
        return torch.minimum(torch.maximum(w, r[:, W_MIN]), r[:, W_MAX])

    def _process_dopamine(
        self,
        s: _Synapses,
        t0: torch.Tensor,
        t1: torch.Tensor,
        active: torch.Tensor | None,
        da: tuple[torch.Tensor, torch.Tensor, int],
    ) -> None:
        """Advance the ``active`` synapses (None: all) from t0 to t1 through the dopamine spikes in
        (t0, t1] (``synapse_rules._process_dopamine``); the others are left as they are."""
        import torch

        times, mult, n_da = da
        tau_c, tau_n = s.rule[:, TAU_C], s.rule[:, TAU_N]
        w, n, index = s.w, s.n, s.da_index

        def arrived(index: torch.Tensor) -> torch.Tensor:
            nxt = times[(index + 1).clamp(max=n_da - 1)]
            return (index + 1 < n_da) & (t1 - nxt > -STDP_EPS)

        processed = None
        if n_da > 1:  # the list holds a dopamine spike besides the pseudo spike
            # The first dopamine spike after t0 starts from the state at t0 ...
            go = arrived(index) if active is None else active & arrived(index)
            processed = go
            if bool(go.any()):
                now, nxt = times[index], times[(index + 1).clamp(max=n_da - 1)]
                n0 = n * torch.exp((now - t0) / tau_n)
                w = torch.where(go, self._weight_step(s, w, s.c, n0, t0 - nxt), w)
                n_next = n * torch.exp((now - nxt) / tau_n) + mult[(index + 1).clamp(max=n_da - 1)] / tau_n
                n = torch.where(go, n_next, n)
                index = torch.where(go, index + 1, index)
                # ... the later ones from the state at the previous one.
                go = go & arrived(index)
                while bool(go.any()):
                    now, nxt = times[index], times[(index + 1).clamp(max=n_da - 1)]
                    cd = s.c * torch.exp((t0 - now) / tau_c)
                    w = torch.where(go, self._weight_step(s, w, cd, n, now - nxt), w)
                    n_next = (
                        n * torch.exp((now - nxt) / tau_n) + mult[(index + 1).clamp(max=n_da - 1)] / tau_n
                    )
                    n = torch.where(go, n_next, n)
                    index = torch.where(go, index + 1, index)
                    go = go & arrived(index)
            else:
                processed = None
        now = times[index]
        new_w = self._weight_step(s, w, s.c, n * torch.exp((now - t0) / tau_n), t0 - t1)
        if processed is not None:
            w_after = self._weight_step(s, w, s.c * torch.exp((t0 - now) / tau_c), n, now - t1)
            new_w = torch.where(processed, w_after, new_w)
        new_c = s.c * torch.exp((t0 - t1) / tau_c)
        if active is None:
            s.w, s.c = new_w, new_c
        else:
            s.w, s.c = torch.where(active, new_w, s.w), torch.where(active, new_c, s.c)
        s.n = n
        s.da_index = index

    def _dopamine_facilitations(
        self, s: _Synapses, t_until: float, t_spike: float, da: tuple[torch.Tensor, torch.Tensor, int]
    ) -> torch.Tensor:
        """Eligibility from the post spikes in (t_last - d, t_until - d]; returns the time reached
        (``_dopamine_facilitations``; ``t_spike`` NaN for a trigger)."""
        import torch

        t0 = s.t_last.clone()
        d = s.delay_ms
        first, length = self._window(s.target, s.t_last - d, torch.full_like(d, t_until) - d)
        busy = length.nonzero().squeeze(1)
        if not busy.numel():
            return t0
        b = s.subset(busy)
        lb, fb, tb = length[busy], first[busy], t0[busy]
        for offset in range(int(lb.max())):
            active = offset < lb
            t_post = self._spike_at(b.target, fb + offset)
            self._process_dopamine(b, tb, t_post + b.delay_ms, active, da)
            tb = torch.where(active, t_post + b.delay_ms, tb)
            facilitate = active & ~((t_spike - t_post) <= STDP_EPS)  # always, for a trigger (NaN)
            bump = b.rule[:, A_PLUS] * b.k_plus * torch.exp((b.t_last - tb) / b.rule[:, TAU_PLUS])
            b.c = torch.where(facilitate, b.c + bump, b.c)
        s.update(busy, b)
        t0[busy] = tb
        return t0

    def _dopamine_send(self, syn: torch.Tensor, t_emit: float) -> torch.Tensor:
        """Weights the dopamine synapses ``syn`` send a spike at ``t_emit`` with (``dopamine_send``)."""
        import torch

        s = self._gather(syn)
        da = self._dopamine_list()
        t0 = self._dopamine_facilitations(s, t_emit, t_emit, da)
        self._process_dopamine(s, t0, torch.full_like(t0, t_emit), None, da)
        s.c = s.c - s.rule[:, A_MINUS] * self._post_traces(s.target, t_emit - s.delay_ms)[0]
        s.k_plus = s.k_plus * torch.exp((s.t_last - t_emit) / s.rule[:, TAU_PLUS]) + 1.0
        s.t_last = torch.full_like(s.t_last, t_emit)
        self._scatter(syn, s, dopamine=True)
        return s.w

    def _trigger(self, t_trig: float) -> None:
        """The volume transmitter brings every dopamine synapse up to ``t_trig``
        (``dopamine_trigger``); the caller then resets its spike list."""
        import torch

        syn = self.dopamine_ids
        s = self._gather(syn, self._dopamine_rules)
        da = self._dopamine_list()
        t0 = self._dopamine_facilitations(s, t_trig, math.nan, da)
        self._process_dopamine(s, t0, torch.full_like(t0, t_trig), None, da)
        times = da[0]
        s.n = s.n * torch.exp((times[s.da_index] - t_trig) / s.rule[:, TAU_N])
        s.k_plus = s.k_plus * torch.exp((s.t_last - t_trig) / s.rule[:, TAU_PLUS])
        s.t_last = torch.full_like(s.t_last, t_trig)
        s.da_index = torch.zeros_like(s.da_index)
        self._scatter(syn, s, dopamine=True)


def simulate_network_torch(
    network: ColumnNetwork, run: EngineRun, device: str = "cpu", dtype: str = "float32"
) -> SpikeData:
    """Run warm-up plus ``run.t_sim_ms`` on ``device``; record spikes after the warm-up.

    A spike emitted in step k (time (k+1) dt, NEST convention) is reported at that time; plastic
    synapses end with their learned weights in ``plastic_weights``.
    """
    return timed_run(TorchColumnSimulator(network, run, device=device, dtype=dtype), network, run)
