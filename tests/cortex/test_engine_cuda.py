"""The CUDA engine against the numba engine, its kernels run in numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM`` is read when numba is first imported, so the simulated runs happen in
a subprocess (:func:`compare`); this process keeps the real ``numba.cuda``. The network is tiny
(about 150 neurons, 40 ms) because every simulated CUDA thread is a Python thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from brainstar.domain.cortex.config import ColumnConfig, ConfigError, PlasticityConfig
from brainstar.domain.cortex.network import ColumnNetwork, build_network
from brainstar.domain.cortex.simulation import column_size, run_engine

ROOT = Path(__file__).resolve().parents[2]


def _network(config: ColumnConfig, thalamus_hz: float) -> ColumnNetwork:
    """The column with membranes started near threshold and three times the DC, so that it is busy
    from the first milliseconds (recurrent delivery and refractoriness are exercised)."""
    net = build_network(config)
    rng = np.random.default_rng(1)
    e_l, v_th = config.neuron.e_l_mv, config.neuron.v_th_mv
    net = replace(net, v0_mv=rng.uniform(e_l + 5.0, v_th, net.n_neurons), dc_pa=net.dc_pa * 3.0)
    if thalamus_hz:
        from brainstar.domain.cortex.sources import add_thalamus

        net = add_thalamus(net, config, seed=2, n_neurons=20, k_scaling=0.5)
    return net


def compare(poisson: bool, loop: str, thalamus_hz: float) -> None:
    """Run in the simulator: both engines on the same network; prints their spikes as JSON."""
    warnings.simplefilter("ignore", RuntimeWarning)  # numpy scalars warn on the hash's wrap-around
    from brainstar.domain.cortex import engine_cuda
    from brainstar.domain.cortex.engine_numba import ColumnSimulator, EngineRun, timed_run

    config = ColumnConfig(
        n_scaling=0.002,
        k_scaling=0.05,
        t_sim_ms=35.0,
        warmup_ms=5.0,
        seed=4,
        poisson_input=poisson,
        threads=1,
    )
    net = _network(config, thalamus_hz)
    run = EngineRun.of(config)
    out = {}
    for name, simulator in (
        ("numba", ColumnSimulator(net, run)),
        ("cuda", engine_cuda.CudaColumnSimulator(net, run, loop=loop, chunk_steps=150)),
    ):
        simulator.source_rate_hz[:] = thalamus_hz
        spikes = timed_run(simulator, net, run)
        out[name] = {"times": spikes.times_ms.tolist(), "senders": spikes.senders.tolist()}
    out["simulated"] = engine_cuda.SIMULATED
    print(json.dumps(out))


def _simulated(poisson: bool, loop: str, thalamus_hz: float = 0.0) -> dict:
    code = f"from tests.cortex.test_engine_cuda import compare; compare({poisson}, {loop!r}, {thalamus_hz})"
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["simulated"], "the subprocess did not run numba's CUDA simulator"
    return result


@pytest.mark.parametrize("loop", ["device", "host"])
def test_dc_background_spikes_equal_the_numba_engine(loop: str) -> None:
    result = _simulated(poisson=False, loop=loop)
    numba, cuda = result["numba"], result["cuda"]
    assert len(numba["senders"]) > 50
    assert cuda["senders"] == numba["senders"]
    assert cuda["times"] == numba["times"]


def test_poisson_background_and_thalamus_match_the_numba_engine() -> None:
    """Both engines draw from the same counter-based hash, so in the simulator even the Poisson
    spikes coincide; the rates of the column and of the thalamus are then checked too."""
    result = _simulated(poisson=True, loop="host", thalamus_hz=200.0)
    numba, cuda = result["numba"], result["cuda"]
    senders = np.array(cuda["senders"])
    n_column = column_size(ColumnConfig(n_scaling=0.002))
    assert (senders >= n_column).sum() > 20, "the thalamus did not fire"
    assert (senders < n_column).sum() > 50
    assert cuda["senders"] == numba["senders"]
    np.testing.assert_allclose(cuda["times"], numba["times"], rtol=0, atol=1e-9)


def test_plastic_column_is_refused_by_name() -> None:
    config = ColumnConfig(
        n_scaling=0.02,
        k_scaling=0.1,
        t_sim_ms=10.0,
        warmup_ms=0.0,
        plasticity=PlasticityConfig(in_column=True),
    )
    with pytest.raises(ConfigError, match="'cuda' simulates static synapses only, and this column has"):
        run_engine(config, build_network(config), "cuda")


def test_missing_device_and_unknown_loop_are_clear_errors() -> None:
    from numba import cuda

    from brainstar.domain.cortex.engine_cuda import CudaColumnSimulator
    from brainstar.domain.cortex.engine_numba import EngineRun

    config = ColumnConfig(n_scaling=0.002, k_scaling=0.1)
    net, run = build_network(config), EngineRun.of(config)
    with (
        mock.patch.object(cuda, "is_available", return_value=False),
        pytest.raises(ConfigError, match=r"numba sees none .*make install GPU=1.*NUMBA_ENABLE_CUDASIM=1"),
    ):
        CudaColumnSimulator(net, run)
    with pytest.raises(ConfigError, match=r"loop.*'gpu'"):
        CudaColumnSimulator(net, run, loop="gpu")
