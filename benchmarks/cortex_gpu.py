"""PD14 real-time factor on CPU and GPU engines beside NEST, at N_scaling 0.1, 0.5 and 1.0.

For each scale the network is built once and simulated (warm-up + recorded time, Poisson
background) by each engine: ``numba`` (CPU threads), ``torch`` (CPU), ``torch-cuda`` (the torch
engine on the GPU) and ``cuda`` (the fused-step numba.cuda engine, ``engine_cuda``); NEST 3
with the INM-6 microcircuit simulates the same configuration in a subprocess in the same run
(``tools/cortex_nest_reference.py``; needs the bench extra). Each engine's mean population rate
stands beside NEST's, with the largest per-population difference. An engine that cannot run
here gets a row saying why. Compile time is excluded (as the numba engine's warm-up call).

    python -m benchmarks cortex_gpu                 # every scale and engine: hours on a CPU
    python -m benchmarks.cortex_gpu --scales 0.1 --engines numba --t-sim 200 --warmup 100 --no-nest
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.harness import Table

ROOT = Path(__file__).resolve().parents[1]
SCALES = (0.1, 0.5, 1.0)
ENGINES = ("numba", "torch", "torch-cuda", "cuda")
K_SCALING, T_SIM_MS, WARMUP_MS, SEED = 1.0, 1000.0, 500.0, 1
THREADS = os.cpu_count() or 1


def _unavailable(engine: str) -> str | None:
    """Why ``engine`` cannot run on this machine, or None."""
    if engine == "cuda":
        from brainstar.core.devices import numba_cuda_problem

        return "no CUDA device for numba (see `brainstar device`)" if numba_cuda_problem() else None
    if engine == "torch-cuda":
        import torch

        return None if torch.cuda.is_available() else "no CUDA device for torch"
    return None


def _engine(config: object, network: object, engine: str) -> dict[str, object]:
    from brainstar.domain.cortex import metrics
    from brainstar.domain.cortex.simulation import run_engine

    name, device = ("torch", "cuda") if engine == "torch-cuda" else (engine, None)
    spikes = run_engine(config, network, name, device)
    return {"sim": spikes.wall_seconds, "rates": metrics.population_rates_hz(spikes)}


def _nest(n_scaling: float, k_scaling: float, t_sim_ms: float, warmup_ms: float) -> dict[str, object] | str:
    if importlib.util.find_spec("nest") is None:
        return "NEST not importable (pip install -e '.[bench]')"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "nest.json"
        command = [
            sys.executable, str(ROOT / "tools" / "cortex_nest_reference.py"),
            "--n-scaling", str(n_scaling), "--k-scaling", str(k_scaling), "--t-sim", str(t_sim_ms),
            "--warmup", str(warmup_ms), "--seeds", str(SEED), "--threads", str(THREADS), "--out", str(out),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            return f"NEST failed: {lines[-1] if lines else f'exit {done.returncode}'}"
        run = json.loads(out.read_text())["runs"][0]
    return {"sim": run["sim_wall_seconds"], "rates": np.asarray(run["rate_hz"])}


def run(
    scales: Sequence[float] = SCALES,
    engines: Sequence[str] = ENGINES,
    k_scaling: float = K_SCALING,
    t_sim_ms: float = T_SIM_MS,
    warmup_ms: float = WARMUP_MS,
    nest: bool = True,
) -> Table:
    from brainstar.domain.cortex.config import ColumnConfig
    from brainstar.domain.cortex.network import build_network

    bio_s = (t_sim_ms + warmup_ms) * 1e-3
    table = Table(
        f"cortex on CPU and GPU: PD14 K_scaling {k_scaling}, {warmup_ms:g}+{t_sim_ms:g} ms, "
        f"Poisson background, {THREADS} CPU threads",
        ["N_scaling", "engine", "simulate (s)", "real-time factor", "mean rate (Hz)", "NEST mean rate (Hz)",
         "max rate gap to NEST (Hz)"],
    )  # fmt: skip
    for n_scaling in scales:
        config = ColumnConfig(
            n_scaling=n_scaling, k_scaling=k_scaling, t_sim_ms=t_sim_ms, warmup_ms=warmup_ms, seed=SEED,
            threads=THREADS,
        )  # fmt: skip
        reference = _nest(n_scaling, k_scaling, t_sim_ms, warmup_ms) if nest else "NEST not requested"
        nest_rates = None if isinstance(reference, str) else reference["rates"]
        nest_mean = "-" if nest_rates is None else float(np.mean(nest_rates))
        start = time.perf_counter()
        network = build_network(config)
        table.notes.append(
            f"N_scaling {n_scaling}: {network.n_neurons} neurons, {network.n_synapses:,} synapses, "
            f"built in {time.perf_counter() - start:.1f} s"
        )
        for engine in engines:
            why = _unavailable(engine)
            if why is not None:
                table.add(n_scaling, engine, "-", why, "-", nest_mean, "-")
                continue
            result = _engine(config, network, engine)
            rates = result["rates"]
            gap = "-" if nest_rates is None else float(np.max(np.abs(rates - nest_rates)))
            table.add(
                n_scaling, engine, result["sim"], result["sim"] / bio_s, float(np.mean(rates)), nest_mean, gap
            )
        if isinstance(reference, str):
            table.notes.append(f"N_scaling {n_scaling}: {reference}")
        else:
            sim = reference["sim"]
            table.add(n_scaling, "NEST 3 + microcircuit", sim, sim / bio_s, nest_mean, nest_mean, 0.0)
    table.notes.append(
        "Real-time factor = simulate wall time / (warm-up + recorded model time); compile excluded."
    )
    return table


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cortex_gpu", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--scales", default=",".join(map(str, SCALES)), help="N_scaling values, comma-separated"
    )
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"some of {', '.join(ENGINES)}")
    parser.add_argument("--k-scaling", type=float, default=K_SCALING)
    parser.add_argument("--t-sim", type=float, default=T_SIM_MS, help="recorded model time, ms")
    parser.add_argument("--warmup", type=float, default=WARMUP_MS, help="discarded warm-up, ms")
    parser.add_argument("--no-nest", action="store_true", help="leave NEST out")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {', '.join(ENGINES)}")
    scales = [float(s) for s in args.scales.split(",") if s]
    table = run(scales, engines, args.k_scaling, args.t_sim, args.warmup, nest=not args.no_nest)
    print(table.render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
