"""Kernels warmed in one process are loaded, not compiled, by the next: ``brainstar warm-kernels``.

Each step runs in a fresh interpreter on a private ``NUMBA_CACHE_DIR``; numba's dispatcher stats
tell a kernel loaded from the on-disk cache (hit) from one compiled in this process (miss). The
probes use inputs of other sizes than the warm-up, as production does: only the types must match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Prints {kernel: [cache hits, cache misses]} for the dispatchers named in KERNELS.
_STATS = """
import json
print(json.dumps({k.py_func.__qualname__: [sum(k.stats.cache_hits.values()),
                  sum(k.stats.cache_misses.values())] for k in KERNELS if k.signatures}))
"""

_ASTRO_PROBE = """
import numpy as np
from brainstar.domain.astro import lightcurves, periods
rng = np.random.default_rng(7)
time = np.arange(600, dtype=np.float64) * 0.0204
flux = 1.0 + 1e-3 * rng.standard_normal(600)
flat, _ = lightcurves.detrend(time, flux)
periods.bls_search(time, flat)
KERNELS = (lightcurves.biweight_trend, periods.bls_power)
"""

_CORTEX_PROBE = """
import numpy as np
from brainstar.domain.cortex import plasticity
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.engine_numba import _advance
from brainstar.domain.cortex.synapse_rules import stdp_send
from brainstar.domain.cortex.network import _counting_sort_order, _sort_rows_by_target
from brainstar.domain.cortex.simulation import simulate
simulate(ColumnConfig(n_scaling=0.01, k_scaling=0.05, t_sim_ms=20.0, warmup_ms=10.0, seed=4))
plasticity.pairing_window(plasticity.STDP_RULES["bipoo"], np.array([-20.0, 5.0, 30.0]), n_pairs=3)
KERNELS = (_counting_sort_order, _sort_rows_by_target, _advance, stdp_send)
"""


def _python(args: list[str], cache_dir: Path) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run(
        args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _probe(code: str, cache_dir: Path) -> dict[str, list[int]]:
    out = _python([sys.executable, "-c", code + _STATS], cache_dir)
    return json.loads(out.strip().splitlines()[-1])


def _assert_all_loaded(stats: dict[str, list[int]]) -> None:
    compiled = {name: misses for name, (_, misses) in stats.items() if misses}
    assert not compiled, f"compiled in the fresh process instead of loaded from the cache: {compiled}"
    assert stats and all(hits > 0 for hits, _ in stats.values()), stats


def test_astro_kernels_warmed_in_one_process_load_in_the_next(tmp_path: Path) -> None:
    warm = "from brainstar.domain.astro.kernels import warm_kernels; warm_kernels()"
    _python([sys.executable, "-c", warm], tmp_path)
    _assert_all_loaded(_probe(_ASTRO_PROBE, tmp_path))


@pytest.mark.slow
def test_warm_kernels_command_fills_the_cache_for_later_processes(tmp_path: Path) -> None:
    out = _python([sys.executable, "-c", "from brainstar.cli import cli; cli(['warm-kernels'])"], tmp_path)
    assert "cortex: 9 kernels warm" in out and "astro: 5 kernels warm" in out, out
    assert str(tmp_path) in out, out
    _assert_all_loaded(_probe(_CORTEX_PROBE, tmp_path))
    _assert_all_loaded(_probe(_ASTRO_PROBE, tmp_path))
