"""CUDA engine: the numba engine's column with whole time steps on the GPU (numba.cuda).

Why numba.cuda (rather than Triton or CuPy raw kernels): it is the language of
``engine_numba`` already, so the kernels reuse its random-number scheme (``hash_uniform``,
``poisson_inverse``) from the same source and need no second toolchain; and with
``NUMBA_ENABLE_CUDASIM=1`` (set before ``numba.cuda`` is first imported) the very same kernels
run on the CPU in numba's simulator, which is how CI checks them against the numba engine
without a GPU. Triton has an interpreter too, but its block-tensor model fits scattered
spike delivery badly; CuPy raw kernels are CUDA C strings with no CPU path at all.

Model and order are ``engine_numba._advance``'s. In step ``s`` every neuron updates
(``V <- P22 V + P21 I + P20 I_dc`` unless refractory, ``I <- P11 I + ring[s]``, Poisson
background from the counter-based hash of (seed, step, neuron), threshold and reset) and
appends its spike to the step's fired list; then the fired neurons' CSR rows are sent into ring
slots ``(s + delay) % ring`` by atomic adds. The numba engine sends step ``s``'s spikes at the
start of step ``s + 1`` instead; as every delay is at least one step and shorter than the ring,
those slots are never slot ``s`` (already read), so the two orders give the same currents.

Bit-identical spikes: atomics land in any order, but each PSC is a float32 weight added into a
float64 ring entry. float64 carries 29 more significand bits than float32, so up to 2^k float32
numbers whose magnitudes span less than 2^(29 - k) add exactly, in any order (PD14's weights,
tens to hundreds of pA, span about 2^6; an entry gets at most its in-degree, < 2^13, per step).
Products in the neuron update go through libdevice's ``dmul_rn`` (PTX ``mul.rn``, which is
never fused into an FMA), so V and I round as on the CPU. With DC background the spikes equal
the numba engine's in the simulator, and by this argument on a GPU too. Poisson counts use
``poisson_inverse`` itself; on a GPU the compiler may fuse its CDF sum, so a count can differ
when a uniform lies within a rounding error of a CDF boundary (rates agree; in the simulator
the spikes are identical too).

No host round trip per step. ``loop="device"`` (default) launches one cooperative kernel per
chunk of steps that loops over them on the device, with a grid-wide barrier between the update
and the delivery; ``loop="host"`` queues two kernels per step without synchronising (for
drivers or tools where cooperative launches are unavailable). Spikes go into a device buffer
large enough for any chunk (a neuron fires at most once per refractory period + 1 step) and
are copied back once per chunk, then sorted into the numba engine's (step, neuron) order.

Static synapses only: a column with plastic synapses is refused (use ``numba`` or ``torch``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda
from numba.core import config as numba_config

from brainstar.core.devices import numba_cuda_problem
from brainstar.domain.cortex.config import ConfigError
from brainstar.domain.cortex.engine_numba import (
    SOURCE_STREAM,
    EngineRun,
    SpikeData,
    hash_uniform,
    poisson_inverse,
    propagators,
    timed_run,
)
from brainstar.domain.cortex.network import ColumnNetwork

SIMULATED = bool(numba_config.ENABLE_CUDASIM)
LOOPS = ("device", "host")
CHUNK_STEPS = 1000  # steps per kernel chunk: one host synchronisation per 100 ms of model time

_uniform = cuda.jit(device=True)(hash_uniform.py_func)
_poisson = cuda.jit(device=True)(poisson_inverse.py_func)

if SIMULATED:
    # The simulator evaluates in Python, which never fuses a multiply-add.
    @cuda.jit(device=True)
    def _mul(a: float, b: float) -> float:
        return a * b

else:
    from numba.cuda import libdevice

    _mul = libdevice.dmul_rn


@cuda.jit(device=True)
def _update_neurons(
    step, start, stride, v, current, refractory, buf, dc, lam, exp_neg_lam, p_source, prop,
    ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
):  # fmt: skip
    """Neurons ``start::stride`` through step ``step``; spikes go to the step's fired list
    (row ``step % 2``) and, from ``record_from`` on, to the record."""
    p11, p22, p21, p20, theta, v_reset, w_ext = prop[0], prop[1], prop[2], prop[3], prop[4], prop[5], prop[6]
    n = v.size
    first_source = n - p_source.size
    ring = buf.shape[0]
    slot = step % ring
    parity = step % 2
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


@cuda.jit(device=True)
def _deliver(step, block, n_blocks, thread, n_threads, indptr, targets, weights, delays, buf, fired, n_fired):
    """Send the spikes of step ``step`` through their rows, one block per spike at a time, and
    empty the next step's fired list (nobody reads that row during delivery)."""
    ring = buf.shape[0]
    slot = step % ring
    parity = step % 2
    for f in range(block, n_fired[parity], n_blocks):
        i = fired[parity, f]
        for k in range(indptr[i] + thread, indptr[i + 1], n_threads):
            arrival = slot + delays[k]
            if arrival >= ring:
                arrival -= ring
            cuda.atomic.add(buf, (arrival, targets[k]), np.float64(weights[k]))
    if block == 0 and thread == 0:
        n_fired[1 - parity] = 0


@cuda.jit
def _run_steps(
    step0, n_steps, indptr, targets, weights, delays, v, current, refractory, buf, dc, lam, exp_neg_lam,
    p_source, prop, ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
):  # fmt: skip
    """``n_steps`` whole steps in one cooperative launch: update, grid barrier, deliver, barrier."""
    grid = cuda.cg.this_grid()
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for step in range(step0, step0 + n_steps):
        _update_neurons(
            step, start, stride, v, current, refractory, buf, dc, lam, exp_neg_lam, p_source, prop,
            ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
        )  # fmt: skip
        grid.sync()
        _deliver(
            step, cuda.blockIdx.x, cuda.gridDim.x, cuda.threadIdx.x, cuda.blockDim.x,
            indptr, targets, weights, delays, buf, fired, n_fired,
        )  # fmt: skip
        grid.sync()


@cuda.jit
def _update_step(
    step, v, current, refractory, buf, dc, lam, exp_neg_lam, p_source, prop, ref_steps, seed, fired,
    n_fired, record_from, rec_steps, rec_ids, rec_count,
):  # fmt: skip
    _update_neurons(
        step, cuda.grid(1), cuda.gridsize(1), v, current, refractory, buf, dc, lam, exp_neg_lam, p_source,
        prop, ref_steps, seed, fired, n_fired, record_from, rec_steps, rec_ids, rec_count,
    )  # fmt: skip


@cuda.jit
def _deliver_step(step, indptr, targets, weights, delays, buf, fired, n_fired):
    _deliver(
        step, cuda.blockIdx.x, cuda.gridDim.x, cuda.threadIdx.x, cuda.blockDim.x,
        indptr, targets, weights, delays, buf, fired, n_fired,
    )  # fmt: skip


def refuse_plastic(network: ColumnNetwork) -> None:
    """The engine has no plastic synapses: say so rather than simulate them as static ones."""
    plastic = network.plastic
    if plastic is not None and plastic.n_synapses > 0:
        raise ConfigError(
            "engine",
            f"'cuda' simulates static synapses only, and this column has {plastic.n_synapses} plastic "
            f"synapses ({', '.join(plastic.projections)}); use engine 'numba' or 'torch' for it",
        )


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
        refuse_plastic(network)
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
        ring = max(2, int(network.delays.max()) + 1 if network.delays.size else 2)
        self._csr = tuple(
            cuda.to_device(np.ascontiguousarray(a, dtype=dtype))
            for a, dtype in (
                (network.indptr, np.int64),
                (network.targets, np.int32),
                (network.weights, np.float32),
                (network.delays, np.uint8),
            )
        )
        self._v = cuda.to_device((network.v0_mv - run.neuron.e_l_mv).astype(np.float64))
        self._current = cuda.to_device(np.zeros(n))
        self._refractory = cuda.to_device(np.zeros(n, np.int32))
        self._buf = cuda.to_device(np.zeros((ring, n)))
        self._dc = cuda.to_device(network.dc_pa.astype(np.float64))
        self._lam = cuda.to_device(lam)
        self._exp_neg_lam = cuda.to_device(np.exp(-lam))
        self._fired = cuda.to_device(np.zeros((2, n), np.int32))
        self._n_fired = cuda.to_device(np.zeros(2, np.int32))
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

    @property
    def history_misses(self) -> int:
        return 0  # no plastic synapses, so no spike history to miss

    @property
    def plastic_weights(self) -> np.ndarray:
        return np.zeros(0)

    def _state_args(self, p_source: Any, record_from: int) -> tuple[Any, ...]:
        return (
            self._v, self._current, self._refractory, self._buf, self._dc, self._lam, self._exp_neg_lam,
            p_source, self._prop, self._ref_steps, self._seed, self._fired, self._n_fired, record_from,
            self._rec_steps, self._rec_ids, self._rec_count,
        )  # fmt: skip

    def _deliver_args(self) -> tuple[Any, ...]:
        return (*self._csr, self._buf, self._fired, self._n_fired)

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
            kernel = _run_steps.specialize(0, 0, *self._csr, *self._state_args(p_source, 0))
            # Every block of a cooperative grid must be resident at once; the simulator runs one.
            most = 1 if SIMULATED else next(iter(kernel.overloads.values())).max_cooperative_grid_blocks(tpb)
            self._kernels["run"], self._blocks["run"] = kernel, max(1, min(most, update_blocks))
            return
        self._kernels["update"] = _update_step.specialize(0, *self._state_args(p_source, 0))
        self._kernels["deliver"] = _deliver_step.specialize(0, *self._deliver_args())
        if SIMULATED:
            self._blocks["update"] = self._blocks["deliver"] = 1
        else:
            self._blocks["update"] = update_blocks
            self._blocks["deliver"] = 4 * cuda.get_current_device().MULTIPROCESSOR_COUNT

    def advance(
        self, t_ms: float, record_from_step: int | None = None, dopamine_ms: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulate ``t_ms`` more; returns (steps, senders) of the spikes at or after
        ``record_from_step`` (default: all of this chunk), sorted as the numba engine's.
        ``dopamine_ms`` is accepted for the common API and has no effect: there is no
        dopamine synapse here."""
        del dopamine_ms
        dt = self.network.dt_ms
        n_steps = round(t_ms / dt)
        record_from = self.step if record_from_step is None else record_from_step
        p_source = cuda.to_device(np.asarray(self.source_rate_hz, dtype=np.float64) * dt * 1e-3)
        self.compile(p_source)
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

    def _launch(self, chunk: int, p_source: Any, record_from: int) -> None:
        tpb = self.threads_per_block
        state = self._state_args(p_source, record_from)
        if self.loop == "device":
            self._kernels["run"][self._blocks["run"], tpb](self.step, chunk, *self._csr, *state)
            return
        update = self._kernels["update"][self._blocks["update"], tpb]
        deliver = self._kernels["deliver"][self._blocks["deliver"], tpb]
        deliver_args = self._deliver_args()
        for step in range(self.step, self.step + chunk):
            update(step, *state)
            deliver(step, *deliver_args)


def simulate_network_cuda(network: ColumnNetwork, run: EngineRun, loop: str = "device") -> SpikeData:
    """Run warm-up plus ``run.t_sim_ms`` on the CUDA device; record spikes after the warm-up.

    A spike emitted in step k (time (k+1) dt, NEST convention) is reported at that time.
    """
    simulator = CudaColumnSimulator(network, run, loop=loop)
    simulator.compile()  # outside the timed region, as the numba engine's warm-up call
    return timed_run(simulator, network, run)
