"""PD14 at N_scaling 0.1, K_scaling 1.0: numba engine vs NEST 3 (INM-6 microcircuit), 2 threads.

Both simulate 0.5 s warm-up + 1 s with Poisson background and record spikes; the timed part is
state propagation (network construction is reported separately). NEST runs in a subprocess
through ``tools/cortex_nest_reference.py`` so that both use the same machine in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import Table

N_SCALING, K_SCALING, T_SIM_MS, WARMUP_MS, THREADS, SEED = 0.1, 1.0, 1000.0, 500.0, 2, 1
ROOT = Path(__file__).resolve().parents[1]


def _numba() -> dict[str, float]:
    from brainstar.domain.cortex import metrics
    from brainstar.domain.cortex.config import ColumnConfig
    from brainstar.domain.cortex.network import build_network
    from brainstar.domain.cortex.simulation import run_engine

    config = ColumnConfig(
        n_scaling=N_SCALING,
        k_scaling=K_SCALING,
        t_sim_ms=T_SIM_MS,
        warmup_ms=WARMUP_MS,
        seed=SEED,
        threads=THREADS,
    )
    start = time.perf_counter()
    net = build_network(config)
    build = time.perf_counter() - start
    spikes = run_engine(config, net, "numba")
    return {"build": build, "sim": spikes.wall_seconds, "rates": metrics.population_rates_hz(spikes).tolist()}


def _nest() -> dict[str, float] | str:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "nest.json"
        command = [
            sys.executable, str(ROOT / "tools" / "cortex_nest_reference.py"),
            "--n-scaling", str(N_SCALING), "--k-scaling", str(K_SCALING), "--t-sim", str(T_SIM_MS),
            "--warmup", str(WARMUP_MS), "--seeds", str(SEED), "--threads", str(THREADS), "--out", str(out),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
            return f"NEST failed: {last}"
        payload = json.loads(out.read_text())
    run = payload["runs"][0]
    return {"build": run["build_wall_seconds"], "sim": run["sim_wall_seconds"], "rates": run["rate_hz"]}


def run() -> Table:
    bio_s = (T_SIM_MS + WARMUP_MS) * 1e-3
    table = Table(
        f"cortex: PD14 N_scaling {N_SCALING} K_scaling {K_SCALING}, "
        f"{WARMUP_MS:g}+{T_SIM_MS:g} ms, {THREADS} threads",
        ["engine", "build (s)", "simulate (s)", "real-time factor", "mean rate (Hz)", "rate L4E (Hz)"],
    )
    numba_result = _numba()
    table.add(
        "numba (ours)", numba_result["build"], numba_result["sim"], numba_result["sim"] / bio_s,
        float(np.mean(numba_result["rates"])), numba_result["rates"][2],
    )  # fmt: skip
    nest_result = _nest()
    if isinstance(nest_result, str):
        table.notes.append(nest_result)
    else:
        table.add(
            "NEST 3 + microcircuit", nest_result["build"], nest_result["sim"], nest_result["sim"] / bio_s,
            float(np.mean(nest_result["rates"])), nest_result["rates"][2],
        )  # fmt: skip
        table.notes.append(
            f"NEST / numba simulate-time ratio: {nest_result['sim'] / numba_result['sim']:.2f}"
        )
    table.notes.append("Real-time factor = simulate wall time / (warm-up + recorded model time).")
    return table
