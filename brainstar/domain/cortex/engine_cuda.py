"""CUDA engine: the numba engine's column with whole time steps on the GPU (numba.cuda).

Why numba.cuda (rather than Triton or CuPy raw kernels): it is the language of
``engine_numba`` already, so the kernels reuse its random-number scheme (``hash_uniform``,
``poisson_inverse``) and the plastic synapse rules of ``synapse_rules`` from the same source and
need no second toolchain; and with ``NUMBA_ENABLE_CUDASIM=1`` (set before ``numba.cuda`` is first
imported) the very same kernels run on the CPU in numba's simulator, which is how CI checks them
against the numba engine without a GPU. Triton has an interpreter too, but its block-tensor model
fits scattered spike delivery badly; CuPy raw kernels are CUDA C strings with no CPU path at all.

Model and order are ``engine_numba._advance``'s. Step ``s`` first sends the spikes of step
``s - 1`` through their CSR rows into ring slots ``(s - 1 + delay) % ring`` by atomic adds, then
every neuron updates (``V <- P22 V + P21 I + P20 I_dc`` unless refractory, ``I <- P11 I +
ring[s]``, Poisson background from the counter-based hash of (seed, step, neuron), threshold and
reset) and appends its spike to the step's fired list. As in the numba engine, the spikes of a
chunk's last step wait in that list for the next chunk, so plastic weights read between chunks
are the numba engine's too.

Plastic synapses (``stdp_synapse``, ``stdp_nn_symm_synapse``, ``stdp_dopamine_synapse``) run
the rule functions of ``synapse_rules`` themselves: numba's CUDA target compiles a CPU
(``@njit``) function called from a kernel as a device function from its Python source, and in
the simulator the compiled CPU functions are called on the arrays behind the simulator's
wrappers. The phases of a step, separated by grid-wide barriers:

1. delivery: one thread per synapse of each fired neuron's static and plastic rows. A plastic
   synapse computes the weight the spike is sent with from its own state and its target's
   history (``stdp_send`` / ``dopamine_send``) and writes only its own state; no history is
   written in this phase. So every synapse's updates happen in time order, without races, and
   read the histories the numba engine's delivery reads (everything archived up to step s - 1).
2. update: one thread per neuron; a neuron that fires first lets the STDP synapses onto it read
   the history entry it is about to overwrite (``read_ahead``), then archives its spike
   (``archive_spike``). Both write only that neuron's history and the state of the synapses
   onto it, so no two threads write the same thing. Thread 0 also collects the dopamine spikes
   arriving in this step into the volume transmitter's list (nothing else reads it here).
3. every ``deliver_interval`` steps: one thread per plastic synapse brings the dopamine synapses
   up to date (``dopamine_trigger``); after another barrier thread 0 replaces the list by its
   pseudo spike.

Bit-identical spikes: atomics land in any order, but each static PSC is a float32 weight added
into a float64 ring entry. float64 carries 29 more significand bits than float32, so up to 2^k
float32 numbers whose magnitudes span less than 2^(29 - k) add exactly, in any order (PD14's
weights, tens to hundreds of pA, span about 2^6; an entry gets at most its in-degree, < 2^13,
per step). Plastic weights are float64, so a ring entry that receives several of them in one
step may round differently from the numba engine's (fixed) order by an ulp of the entry, and a
membrane within such an ulp of threshold can then fire one step apart; short of that, spikes and
learned weights are identical (the weights depend on spike times only). Products in the neuron
update go through libdevice's ``dmul_rn`` (PTX ``mul.rn``, which is never fused into an FMA), so
V and I round as on the CPU. With DC background the spikes equal the numba engine's in the
simulator, and by this argument on a GPU too. Poisson counts use ``poisson_inverse`` itself; on a
GPU the compiler may fuse its CDF sum, so a count can differ when a uniform lies within a
rounding error of a CDF boundary (rates agree; in the simulator the spikes are identical too).
The rule functions compiled for the GPU may fuse multiply-adds as well, so learned weights agree
with the numba engine's to rounding there (bit for bit in the simulator).

No host round trip per step. ``loop="device"`` (default) launches one cooperative kernel per
chunk of steps that loops over them on the device, with grid-wide barriers between the phases;
``loop="host"`` queues two kernels per step (four on a volume-transmitter step) without
synchronising (for drivers or tools where cooperative launches are unavailable). Spikes go into a
device buffer large enough for any chunk (a neuron fires at most once per refractory period + 1
step) and are copied back once per chunk, then sorted into the numba engine's (step, neuron)
order. Post-history reads that needed an overwritten entry are counted per thread (no atomics)
and summed in ``history_misses``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import cuda
from numba.core import config as numba_config

from brainstar.core.devices import numba_cuda_problem
from brainstar.domain.cortex import synapse_rules
from brainstar.domain.cortex.config import ConfigError
from brainstar.domain.cortex.engine_numba import (
    SOURCE_STREAM,
    EngineRun,
    EngineState,
    SpikeData,
    hash_uniform,
    poisson_inverse,
    propagators,
    timed_run,
)
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

SIMULATED = bool(numba_config.ENABLE_CUDASIM)
LOOPS = ("device", "host")
CHUNK_STEPS = 1000  # steps per kernel chunk: one host synchronisation per 100 ms of model time
N_DA, DA_NEXT = 0, 1  # the volume transmitter's counters: list length, next scheduled spike

_poisson = cuda.jit(device=True)(poisson_inverse.py_func)

if SIMULATED:
    from numba.cuda.simulator.cudadrv.devicearray import FakeWithinKernelCUDAArray

    @cuda.jit(device=True)
    def _uniform(seed: np.uint64, step: np.uint64, neuron: np.uint64) -> float:
        """The hash without numpy's overflow warnings: splitmix64 wraps around by design (as the
        GPU does silently), and the first warning would add ``__warningregistry__`` to
        ``engine_numba``'s globals while other simulated threads iterate over them (the simulator
        swaps the ``cuda`` module in a device function's globals on every call), which failed a
        CI run with "dictionary changed size during iteration"."""
        with np.errstate(over="ignore"):
            return hash_uniform.py_func(seed, step, neuron)

    # The simulator evaluates in Python, which never fuses a multiply-add.
    @cuda.jit(device=True)
    def _mul(a: float, b: float) -> float:
        return a * b

    def _rule(function: Callable[..., Any]) -> Callable[..., Any]:
        """The compiled CPU rule, called on the numpy arrays behind the simulator's array
        wrappers (which numba cannot type)."""

        def call(*args: Any) -> Any:
            return function(*(a._item._ary if isinstance(a, FakeWithinKernelCUDAArray) else a for a in args))

        return call

else:
    from numba.cuda import libdevice

    _uniform = cuda.jit(device=True)(hash_uniform.py_func)
    _mul = libdevice.dmul_rn

    def _rule(function: Callable[..., Any]) -> Callable[..., Any]:
        """The rule itself: numba's CUDA target compiles a CPU dispatcher called from a kernel
        as a device function (from its ``py_func``)."""
        return function


_read_ahead = _rule(synapse_rules.read_ahead)
_archive_spike = _rule(synapse_rules.archive_spike)
_stdp_send = _rule(synapse_rules.stdp_send)
_advance_pre_trace = _rule(synapse_rules.advance_pre_trace)
_dopamine_send = _rule(synapse_rules.dopamine_send)
_dopamine_trigger = _rule(synapse_rules.dopamine_trigger)


@cuda.jit(device=True)
def _update_neurons(
    step, start, stride, v, current, refractory, buf, dc, lam, exp_neg_lam, p_source, prop,
    ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
    p_indptr, p_targets, p_delays, p_rule, rule_table, p_state, in_ptr, in_syn, h_times, h_k, h_count,
    h_trace, h_last, misses, da_schedule, da_times, da_mult, da_count, dt, tau_minus_inv,
):  # fmt: skip
    """Neurons ``start::stride`` through step ``step``; spikes go to the step's fired list
    (row ``step % 2``), from ``record_from`` on to the record, and into the post history."""
    p11, p22, p21, p20, theta, v_reset, w_ext = prop[0], prop[1], prop[2], prop[3], prop[4], prop[5], prop[6]
    n = v.size
    first_source = n - p_source.size
    ring = buf.shape[0]
    slot = step % ring
    parity = step % 2
    archive = p_targets.size > 0
    for i in range(start, n, stride):
        spiked = False
        if i >= first_source:
            buf[slot, i] = 0.0
            u = _uniform(seed ^ SOURCE_STREAM, np.uint64(step), np.uint64(i))
            spiked = u < p_source[i - first_source]
        else:
            if refractory[i] == 0:
                v[i] = _mul(v[i], p22) + _mul(current[i], p21) + _mul(dc[i], p20)
            else:
                refractory[i] -= 1
            current[i] = _mul(current[i], p11) + buf[slot, i]
            buf[slot, i] = 0.0
            if lam[i] > 0.0:
                u = _uniform(seed, np.uint64(step), np.uint64(i))
                current[i] += _mul(w_ext, np.float64(_poisson(u, exp_neg_lam[i], lam[i])))
            if v[i] >= theta:
                v[i] = v_reset
                refractory[i] = ref_steps
                spiked = True
        if spiked:
            f = cuda.atomic.add(n_fired, parity, 1)
            fired[parity, f] = i
            if step >= record_from:
                r = cuda.atomic.add(rec_count, 0, 1)
                if r < rec_ids.size:
                    rec_steps[r] = step
                    rec_ids[r] = i
            if archive:
                _read_ahead(
                    i, in_ptr, in_syn, p_delays, p_rule, rule_table, p_state, dt, h_times, h_count,
                    misses[start : start + 1],
                )  # fmt: skip
                _archive_spike(h_times, h_k, h_count, h_trace, h_last, i, (step + 1) * dt, tau_minus_inv)
    if start == 0:
        # The volume transmitter collects the dopamine arriving in this step (nothing in this
        # phase reads its list).
        t_end = (step + 1) * dt
        while da_count[DA_NEXT] < da_schedule.size and da_schedule[da_count[DA_NEXT]] <= t_end + 1e-9:
            da_times[da_count[N_DA]] = t_end
            da_mult[da_count[N_DA]] = 1.0
            da_count[N_DA] += 1
            da_count[DA_NEXT] += 1


@cuda.jit(device=True)
def _trigger(
    step, start, stride, p_targets, p_delays, p_rule, rule_table, p_state, h_times, h_count, misses, da_times,
    da_mult, da_count, dt,
):  # fmt: skip
    """Synapses ``start::stride`` of the dopamine rule brought up to the end of step ``step``
    (the volume transmitter's delivery); each thread writes only its own synapses."""
    t_end = (step + 1) * dt
    n_da = da_count[N_DA]
    for k in range(start, p_targets.size, stride):
        r = rule_table[p_rule[k]]
        if r[KIND] == KIND_DOPAMINE:
            _dopamine_trigger(
                p_state, k, t_end, p_delays[k] * dt, p_targets[k], h_times, h_count,
                misses[start : start + 1], da_times, da_mult, n_da, r[A_PLUS], r[TAU_PLUS], r[TAU_C],
                r[TAU_N], r[B], r[W_MIN], r[W_MAX],
            )  # fmt: skip


@cuda.jit(device=True)
def _reset_dopamine(step, da_times, da_mult, da_count, dt):
    """After a delivery the volume transmitter's list is its pseudo spike (NEST's order)."""
    da_times[0] = (step + 1) * dt
    da_mult[0] = 0.0
    da_count[N_DA] = 1


@cuda.jit(device=True)
def _plastic_weight(
    k, t_emit, p_targets, p_delays, p_rule, rule_table, p_state, h_times, h_k, h_count, misses, da_times,
    da_mult, n_da, dt, tau_minus_inv,
):  # fmt: skip
    """The weight synapse ``k`` sends a spike emitted at ``t_emit`` with; its state is brought
    up to that spike (``engine_numba._advance``'s delivery)."""
    j = p_targets[k]
    r = rule_table[p_rule[k]]
    d_ms = p_delays[k] * dt
    if r[KIND] == KIND_DOPAMINE:
        return _dopamine_send(
            p_state, k, t_emit, d_ms, j, h_times, h_k, h_count, misses, tau_minus_inv, da_times, da_mult,
            n_da, r[A_PLUS], r[A_MINUS], r[TAU_PLUS], r[TAU_C], r[TAU_N], r[B], r[W_MIN], r[W_MAX],
        )  # fmt: skip
    w = _stdp_send(
        p_state[k, 0], p_state[k, 3], p_state[k, 4], p_state[k, T_READ], t_emit, d_ms, j, h_times, h_k,
        h_count, misses, tau_minus_inv, int(r[KIND]), r[TAU_PLUS], r[LAMBDA], r[ALPHA], r[MU_PLUS],
        r[MU_MINUS], r[W_MAX],
    )  # fmt: skip
    p_state[k, 0] = w
    p_state[k, T_READ] = t_emit - d_ms
    p_state[k, 3] = _advance_pre_trace(p_state[k, 3], p_state[k, 4], t_emit, r[TAU_PLUS])
    p_state[k, 4] = t_emit
    return w


@cuda.jit(device=True)
def _deliver(
    step, block, n_blocks, thread, n_threads, indptr, targets, weights, delays, buf, fired, n_fired,
    p_indptr, p_targets, p_delays, p_rule, rule_table, p_state, h_times, h_k, h_count, misses, da_times,
    da_mult, da_count, dt, tau_minus_inv,
):  # fmt: skip
    """Send the spikes of step ``step`` through their static and plastic rows, one block per
    spike at a time, and empty the next step's fired list (nobody reads that row during
    delivery). Step -1, before the first, has no spikes."""
    ring = buf.shape[0]
    slot = step % ring
    parity = step % 2
    t_emit = (step + 1) * dt  # a spike of step k is stamped (k + 1) dt
    n_da = da_count[N_DA]
    me = block * n_threads + thread
    for f in range(block, n_fired[parity], n_blocks):
        i = fired[parity, f]
        for k in range(indptr[i] + thread, indptr[i + 1], n_threads):
            arrival = slot + delays[k]
            if arrival >= ring:
                arrival -= ring
            cuda.atomic.add(buf, (arrival, targets[k]), np.float64(weights[k]))
        for k in range(p_indptr[i] + thread, p_indptr[i + 1], n_threads):
            w = _plastic_weight(
                k, t_emit, p_targets, p_delays, p_rule, rule_table, p_state, h_times, h_k, h_count,
                misses[me : me + 1], da_times, da_mult, n_da, dt, tau_minus_inv,
            )  # fmt: skip
            arrival = slot + p_delays[k]
            if arrival >= ring:
                arrival -= ring
            cuda.atomic.add(buf, (arrival, p_targets[k]), w)
    if block == 0 and thread == 0:
        n_fired[1 - parity] = 0


@cuda.jit
def _run_steps(
    step0, n_steps, deliver_interval, indptr, targets, weights, delays, v, current, refractory, buf, dc, lam,
    exp_neg_lam, p_source, prop, ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
    p_indptr, p_targets, p_delays, p_rule, rule_table, p_state, in_ptr, in_syn, h_times, h_k, h_count,
    h_trace, h_last, misses, da_schedule, da_times, da_mult, da_count, dt, tau_minus_inv,
):  # fmt: skip
    """``n_steps`` whole steps in one cooperative launch: deliver the previous step's spikes, grid
    barrier, update, barrier (and on a volume-transmitter step: trigger, barrier, reset, barrier)."""
    grid = cuda.cg.this_grid()
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for step in range(step0, step0 + n_steps):
        _deliver(
            step - 1, cuda.blockIdx.x, cuda.gridDim.x, cuda.threadIdx.x, cuda.blockDim.x,
            indptr, targets, weights, delays, buf, fired, n_fired, p_indptr, p_targets, p_delays, p_rule,
            rule_table, p_state, h_times, h_k, h_count, misses, da_times, da_mult, da_count, dt,
            tau_minus_inv,
        )  # fmt: skip
        grid.sync()
        _update_neurons(
            step, start, stride, v, current, refractory, buf, dc, lam, exp_neg_lam, p_source, prop,
            ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
            p_indptr, p_targets, p_delays, p_rule, rule_table, p_state, in_ptr, in_syn, h_times, h_k,
            h_count, h_trace, h_last, misses, da_schedule, da_times, da_mult, da_count, dt, tau_minus_inv,
        )  # fmt: skip
        grid.sync()
        if deliver_interval > 0 and (step + 1) % deliver_interval == 0:  # the same for every thread
            _trigger(
                step, start, stride, p_targets, p_delays, p_rule, rule_table, p_state, h_times, h_count,
                misses, da_times, da_mult, da_count, dt,
            )  # fmt: skip
            grid.sync()
            if start == 0:
                _reset_dopamine(step, da_times, da_mult, da_count, dt)
            grid.sync()


@cuda.jit
def _update_step(
    step, v, current, refractory, buf, dc, lam, exp_neg_lam, p_source, prop, ref_steps, seed, fired,
    n_fired, record_from, rec_steps, rec_ids, rec_count, p_indptr, p_targets, p_delays, p_rule, rule_table,
    p_state, in_ptr, in_syn, h_times, h_k, h_count, h_trace, h_last, misses, da_schedule, da_times, da_mult,
    da_count, dt, tau_minus_inv,
):  # fmt: skip
    _update_neurons(
        step, cuda.grid(1), cuda.gridsize(1), v, current, refractory, buf, dc, lam, exp_neg_lam, p_source,
        prop, ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
        p_indptr, p_targets, p_delays, p_rule, rule_table, p_state, in_ptr, in_syn, h_times, h_k, h_count,
        h_trace, h_last, misses, da_schedule, da_times, da_mult, da_count, dt, tau_minus_inv,
    )  # fmt: skip


@cuda.jit
def _trigger_step(
    step, p_targets, p_delays, p_rule, rule_table, p_state, h_times, h_count, misses, da_times, da_mult,
    da_count, dt,
):  # fmt: skip
    _trigger(
        step, cuda.grid(1), cuda.gridsize(1), p_targets, p_delays, p_rule, rule_table, p_state, h_times,
        h_count, misses, da_times, da_mult, da_count, dt,
    )  # fmt: skip


@cuda.jit
def _reset_dopamine_step(step, da_times, da_mult, da_count, dt):
    if cuda.grid(1) == 0:
        _reset_dopamine(step, da_times, da_mult, da_count, dt)


@cuda.jit
def _deliver_step(
    step, indptr, targets, weights, delays, buf, fired, n_fired, p_indptr, p_targets, p_delays, p_rule,
    rule_table, p_state, h_times, h_k, h_count, misses, da_times, da_mult, da_count, dt, tau_minus_inv,
):  # fmt: skip
    _deliver(
        step, cuda.blockIdx.x, cuda.gridDim.x, cuda.threadIdx.x, cuda.blockDim.x,
        indptr, targets, weights, delays, buf, fired, n_fired, p_indptr, p_targets, p_delays, p_rule,
        rule_table, p_state, h_times, h_k, h_count, misses, da_times, da_mult, da_count, dt, tau_minus_inv,
    )  # fmt: skip


def require_cuda() -> None:
    """Fail with one message when numba has neither a CUDA device nor its simulator."""
    reason = numba_cuda_problem()
    if reason is None:
        return
    raise ConfigError(
        "engine",
        f"'cuda' needs a CUDA device that numba can use, and numba sees none ({reason}); on a GPU "
        "machine install the CUDA packages with `make install GPU=1`, or start Python with "
        "NUMBA_ENABLE_CUDASIM=1 to run the same kernels on the CPU simulator (slow: tests only)",
    )


class CudaColumnSimulator:
    """A column advanced in chunks with its state on the device (``ColumnSimulator``'s API).

    ``threads_per_block`` defaults to 256 on a device, where the grid covers the neurons (as far
    as a cooperative grid can stay resident), and to one block of 8 in the simulator, where each
    thread is a Python thread. ``chunk_steps`` is the number of steps between two copies of the
    spike record to the host.
    """

    def __init__(
        self,
        network: ColumnNetwork,
        run: EngineRun,
        loop: str = "device",
        threads_per_block: int | None = None,
        chunk_steps: int = CHUNK_STEPS,
    ) -> None:
        if loop not in LOOPS:
            raise ConfigError("loop", f"must be one of {LOOPS}, got {loop!r}")
        require_cuda()
        self.network, self.run, self.loop = network, run, loop
        self.chunk_steps = max(1, chunk_steps)
        self.threads_per_block = threads_per_block or (8 if SIMULATED else 256)
        self.source_rate_hz = np.zeros(network.n_sources)
        self.step = 0
        n = network.n_neurons
        prop = propagators(run.neuron, network.dt_ms)
        self._ref_steps = prop.ref_steps
        self._seed = np.uint64(run.seed)
        self._prop = cuda.to_device(
            np.array(
                [prop.p11, prop.p22, prop.p21, prop.p20, prop.theta, prop.v_reset, network.weight_ext_pa]
            )
        )
        lam = run.poisson_means(network).astype(np.float64)
        self._csr = _to_device(
            (network.indptr, np.int64),
            (network.targets, np.int32),
            (network.weights, np.float32),
            (network.delays, np.uint8),
        )
        # The numba engine's initial state: same ring (static and plastic delays), histories,
        # plastic state and volume-transmitter list.
        state = EngineState.initial(network, run)
        history = state.history
        self._v, self._current, self._refractory, self._buf = _to_device(
            (state.v, np.float64), (state.current, np.float64), (state.refractory, np.int32),
            (state.buf, np.float64),
        )  # fmt: skip
        self._dc, self._lam, self._exp_neg_lam = _to_device(
            (network.dc_pa, np.float64), (lam, np.float64), (np.exp(-lam), np.float64)
        )
        self._fired = cuda.to_device(np.zeros((2, n), np.int32))
        self._n_fired = cuda.to_device(np.zeros(2, np.int32))
        self._plastic = self._plastic_arrays(network, state)
        self._history = _to_device(
            (history.times, np.float64), (history.k_minus, np.float64), (history.count, np.int64),
            (history.trace, np.float64), (history.last, np.float64),
        )  # fmt: skip
        self._misses = cuda.to_device(np.zeros(1, np.int64))  # one entry per thread once the grid is sized
        self._da_schedule = cuda.to_device(np.zeros(0))
        self._da_times, self._da_mult = _to_device((state.da_times, np.float64), (state.da_mult, np.float64))
        self._da_count = cuda.to_device(np.array([1, 0], np.int64))
        self._deliver_interval = 0 if network.plastic is None else network.plastic.deliver_interval
        self._tau_minus_inv = 1.0 / (20.0 if network.plastic is None else network.plastic.tau_minus_ms)
        # A neuron spikes at most once per refractory period + 1 step (it resets below threshold);
        # a source may spike every step: the record can never overflow within a chunk.
        n_iaf = n - network.n_sources
        per_neuron = (
            math.ceil(self.chunk_steps / (prop.ref_steps + 1))
            if prop.v_reset < prop.theta
            else self.chunk_steps
        )
        capacity = max(1, n_iaf * per_neuron + network.n_sources * self.chunk_steps)
        self._rec_steps = cuda.device_array(capacity, np.int32)
        self._rec_ids = cuda.device_array(capacity, np.int32)
        self._rec_count = cuda.to_device(np.zeros(1, np.int32))
        self._kernels: dict[str, Any] = {}
        self._blocks: dict[str, int] = {}

    @staticmethod
    def _plastic_arrays(network: ColumnNetwork, state: EngineState) -> tuple[Any, ...]:
        """Plastic CSR, rule table, synapse state and the CSC view onto each neuron (all empty
        for a static column, so that one kernel serves both)."""
        n = network.n_neurons
        plastic = network.plastic
        if plastic is None:
            csr = (np.zeros(n + 1, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))  # cast below
            table = np.zeros((1, 13))
            in_ptr, in_syn = np.zeros(n + 1, np.int64), np.zeros(0, np.int64)
        else:
            csr = (plastic.indptr, plastic.targets, plastic.delays, plastic.rule)
            table = plastic.table
            in_ptr, in_syn = synapse_rules.incoming(plastic.targets, n)
        return _to_device(
            (csr[0], np.int64), (csr[1], np.int32), (csr[2], np.uint8), (csr[3], np.uint8),
            (table, np.float64), (state.plastic, np.float64), (in_ptr, np.int64), (in_syn, np.int64),
        )  # fmt: skip

    @property
    def history_misses(self) -> int:
        return int(self._misses.copy_to_host().sum())

    @property
    def plastic_weights(self) -> np.ndarray:
        """(S_plastic,) current weights of the plastic synapses, in pA."""
        return self._plastic[5].copy_to_host()[:, synapse_rules.W].copy()

    def freeze_plasticity(self) -> None:
        """From now on every plastic synapse keeps its weight (as ``ColumnSimulator``'s)."""
        table, state = self._plastic[4].copy_to_host(), self._plastic[5].copy_to_host()
        table[:, [LAMBDA, A_PLUS, A_MINUS]] = 0.0
        state[:, synapse_rules.C] = 0.0
        self._plastic[4].copy_to_device(table)
        self._plastic[5].copy_to_device(state)

    def _state_args(self, p_source: Any, record_from: int) -> tuple[Any, ...]:
        return (
            self._v, self._current, self._refractory, self._buf, self._dc, self._lam, self._exp_neg_lam,
            p_source, self._prop, self._ref_steps, self._seed, self._fired, self._n_fired, record_from,
            self._rec_steps, self._rec_ids, self._rec_count, *self._plastic, *self._history, self._misses,
            self._da_schedule, self._da_times, self._da_mult, self._da_count, self.network.dt_ms,
            self._tau_minus_inv,
        )  # fmt: skip

    def _deliver_args(self) -> tuple[Any, ...]:
        h_times, h_k, h_count = self._history[:3]
        return (
            *self._csr, self._buf, self._fired, self._n_fired, *self._plastic[:6], h_times, h_k, h_count,
            self._misses, self._da_times, self._da_mult, self._da_count, self.network.dt_ms,
            self._tau_minus_inv,
        )  # fmt: skip

    def _trigger_args(self) -> tuple[Any, ...]:
        h_times, _, h_count = self._history[:3]
        return (
            *self._plastic[1:6], h_times, h_count, self._misses, self._da_times, self._da_mult,
            self._da_count, self.network.dt_ms,
        )  # fmt: skip

    def _reset_args(self) -> tuple[Any, ...]:
        return self._da_times, self._da_mult, self._da_count, self.network.dt_ms

    def compile(self, p_source: Any | None = None) -> None:
        """Compile (or fetch) the kernels for these argument types and size their grids, outside
        any timed region."""
        if self._kernels:
            return
        if p_source is None:
            p_source = cuda.to_device(np.zeros(self.network.n_sources))
        tpb = self.threads_per_block
        update_blocks = math.ceil(self.network.n_neurons / tpb)
        if self.loop == "device":
            kernel = _run_steps.specialize(0, 0, 0, *self._csr, *self._state_args(p_source, 0))
            # Every block of a cooperative grid must be resident at once; the simulator runs one.
            most = 1 if SIMULATED else next(iter(kernel.overloads.values())).max_cooperative_grid_blocks(tpb)
            self._kernels["run"], self._blocks["run"] = kernel, max(1, min(most, update_blocks))
        else:
            self._kernels["update"] = _update_step.specialize(0, *self._state_args(p_source, 0))
            self._kernels["deliver"] = _deliver_step.specialize(0, *self._deliver_args())
            self._kernels["trigger"] = _trigger_step.specialize(0, *self._trigger_args())
            self._kernels["reset"] = _reset_dopamine_step.specialize(0, *self._reset_args())
            if SIMULATED:
                self._blocks["update"] = self._blocks["deliver"] = 1
            else:
                self._blocks["update"] = update_blocks
                self._blocks["deliver"] = 4 * cuda.get_current_device().MULTIPROCESSOR_COUNT
            self._blocks["trigger"] = self._blocks["update"]
        self._misses = cuda.to_device(np.zeros(max(self._blocks.values()) * tpb, np.int64))

    def advance(
        self, t_ms: float, record_from_step: int | None = None, dopamine_ms: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate ``t_ms`` more; returns (steps, senders) of the spikes at or after
        ``record_from_step`` (default: all of this chunk), sorted as the numba engine's.
        ``dopamine_ms`` are arrival times of dopamine spikes at the volume transmitter within
        this chunk."""
        dt = self.network.dt_ms
        n_steps = round(t_ms / dt)
        record_from = self.step if record_from_step is None else record_from_step
        p_source = cuda.to_device(np.asarray(self.source_rate_hz, dtype=np.float64) * dt * 1e-3)
        self.compile(p_source)
        self._schedule_dopamine(dopamine_ms)
        zero = np.zeros(1, np.int32)
        steps: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        end = self.step + n_steps
        while self.step < end:
            chunk = min(self.chunk_steps, end - self.step)
            self._launch(chunk, p_source, record_from)
            count = int(self._rec_count.copy_to_host()[0])  # the one synchronisation per chunk
            if count > self._rec_ids.size:
                raise RuntimeError(f"spike record overflow: {count} > {self._rec_ids.size}")
            if count:
                steps.append(self._rec_steps[:count].copy_to_host())
                ids.append(self._rec_ids[:count].copy_to_host())
                self._rec_count.copy_to_device(zero)
            self.step += chunk
        if not steps:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        all_steps, all_ids = np.concatenate(steps).astype(np.int64), np.concatenate(ids).astype(np.int64)
        order = np.lexsort((all_ids, all_steps))
        return all_steps[order], all_ids[order]

    def _schedule_dopamine(self, dopamine_ms: np.ndarray | None) -> None:
        """Upload this chunk's dopamine arrivals and make room for them in the volume
        transmitter's list (as ``ColumnSimulator.advance``)."""
        schedule = np.sort(np.asarray(dopamine_ms if dopamine_ms is not None else [], dtype=np.float64))
        count = self._da_count.copy_to_host()
        need = int(count[N_DA]) + schedule.size
        if self._da_times.size < need:
            grow = np.zeros(need - self._da_times.size)
            self._da_times = cuda.to_device(np.concatenate([self._da_times.copy_to_host(), grow]))
            self._da_mult = cuda.to_device(np.concatenate([self._da_mult.copy_to_host(), grow]))
        self._da_schedule = cuda.to_device(schedule)
        count[DA_NEXT] = 0
        self._da_count.copy_to_device(count)

    def _launch(self, chunk: int, p_source: Any, record_from: int) -> None:
        tpb = self.threads_per_block
        state = self._state_args(p_source, record_from)
        if self.loop == "device":
            self._kernels["run"][self._blocks["run"], tpb](
                self.step, chunk, self._deliver_interval, *self._csr, *state
            )
            return
        update = self._kernels["update"][self._blocks["update"], tpb]
        deliver = self._kernels["deliver"][self._blocks["deliver"], tpb]
        trigger = self._kernels["trigger"][self._blocks["trigger"], tpb]
        reset = self._kernels["reset"][1, 1]
        deliver_args, trigger_args = self._deliver_args(), self._trigger_args()
        reset_args = self._reset_args()
        interval = self._deliver_interval
        for step in range(self.step, self.step + chunk):
            deliver(step - 1, *deliver_args)
            update(step, *state)
            if interval > 0 and (step + 1) % interval == 0:
                trigger(step, *trigger_args)
                reset(step, *reset_args)


def _to_device(*arrays: tuple[np.ndarray, Any]) -> tuple[Any, ...]:
    """Each (array, dtype) as a contiguous device array of that dtype."""
    return tuple(cuda.to_device(np.ascontiguousarray(a, dtype=dtype)) for a, dtype in arrays)


def simulate_network_cuda(network: ColumnNetwork, run: EngineRun, loop: str = "device") -> SpikeData:
    """Run warm-up plus ``run.t_sim_ms`` on the CUDA device; record spikes after the warm-up.

    A spike emitted in step k (time (k+1) dt, NEST convention) is reported at that time.
    """
    simulator = CudaColumnSimulator(network, run, loop=loop)
    simulator.compile()  # outside the timed region, as the numba engine's warm-up call
    return timed_run(simulator, network, run)
