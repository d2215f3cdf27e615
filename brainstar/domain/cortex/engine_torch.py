"""GPU engine: the same model as ``engine_numba`` written with torch tensors on any device.

Same exact-integration ``iaf_psc_exp`` update, ring buffer and CSR rows; spikes of one step are
delivered with one ``index_add_`` over the concatenated rows of the neurons that fired. Random
numbers come from torch's generator, so spike trains differ from the numba engine's; the two are
compared statistically (population rates), as ports of PD14 are (Senk et al. 2026).
"""

from __future__ import annotations

import time

import numpy as np

from brainstar.domain.cortex.engine_numba import EngineRun, SpikeData, propagators, spike_data
from brainstar.domain.cortex.network import ColumnNetwork


def simulate_network_torch(
    network: ColumnNetwork, run: EngineRun, device: str = "cpu", dtype: str = "float32"
) -> SpikeData:
    """Run warm-up plus ``run.t_sim_ms`` on ``device``; record spikes after the warm-up."""
    import torch

    dev = torch.device(device)
    tdtype = getattr(torch, dtype)
    dt = network.dt_ms
    prop = propagators(run.neuron, dt)
    n = network.n_neurons
    ring = int(network.delays.max()) + 1 if network.n_synapses else 2
    indptr = torch.as_tensor(network.indptr, device=dev)
    targets = torch.as_tensor(network.targets.astype(np.int64), device=dev)
    weights = torch.as_tensor(network.weights, device=dev, dtype=tdtype)
    delays = torch.as_tensor(network.delays.astype(np.int64), device=dev)
    v = torch.as_tensor(network.v0_mv - run.neuron.e_l_mv, device=dev, dtype=tdtype)
    dc = torch.as_tensor(network.dc_pa, device=dev, dtype=tdtype)
    lam = torch.as_tensor(run.poisson_means(network), device=dev, dtype=tdtype)
    current = torch.zeros(n, device=dev, dtype=tdtype)
    buf = torch.zeros(ring * n, device=dev, dtype=tdtype)
    refractory = torch.zeros(n, device=dev, dtype=torch.int32)
    generator = torch.Generator(device=dev)
    generator.manual_seed(run.seed)
    n_warm, n_steps = run.steps(dt)
    rec_steps: list[torch.Tensor] = []
    rec_ids: list[torch.Tensor] = []
    start = time.perf_counter()
    for step in range(n_steps):
        slot = step % ring
        free = refractory == 0
        v = torch.where(free, v * prop.p22 + current * prop.p21 + dc * prop.p20, v)
        refractory = torch.where(free, refractory, refractory - 1)
        row = buf[slot * n : (slot + 1) * n]
        current = current * prop.p11 + row
        row.zero_()
        if run.poisson_input:
            current = current + network.weight_ext_pa * torch.poisson(lam, generator=generator)
        spiked = v >= prop.theta
        v = torch.where(spiked, torch.full_like(v, prop.v_reset), v)
        refractory = torch.where(spiked, torch.full_like(refractory, prop.ref_steps), refractory)
        ids = spiked.nonzero().squeeze(1)
        if ids.numel() == 0:
            continue
        first = indptr[ids]
        counts = indptr[ids + 1] - first
        total = int(counts.sum())
        if total:
            row_start = torch.cumsum(counts, 0) - counts
            syn = torch.repeat_interleave(first - row_start, counts) + torch.arange(total, device=dev)
            flat = ((slot + delays[syn]) % ring) * n + targets[syn]
            buf.index_add_(0, flat, weights[syn])
        if step >= n_warm:
            rec_steps.append(torch.full_like(ids, step))
            rec_ids.append(ids)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    wall = time.perf_counter() - start
    steps = torch.cat(rec_steps).cpu().numpy() if rec_steps else np.zeros(0, np.int64)
    senders = torch.cat(rec_ids).cpu().numpy() if rec_ids else np.zeros(0, np.int32)
    return spike_data(network, steps, senders, n_warm, n_steps, wall)
