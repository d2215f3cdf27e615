"""Activity gates against the committed NEST references: NEST passes its own gates, broken data fails."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from brainstar.domain.cortex import gates
from brainstar.domain.cortex.config import ColumnConfig

REFERENCES = sorted(gates.DATA_DIR.glob("nest_reference_*.json"))
STATISTICS = ("rate_hz", "cv_isi", "correlation_2ms")


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _reference_from(runs: list[dict]) -> dict:
    """Mean and SD (ddof=1) over ``runs``, under the keys the tool writes."""
    out: dict = {}
    for key in STATISTICS:
        values = np.array([r[key] for r in runs], dtype=float)
        out[f"{key}_mean"] = np.nanmean(values, axis=0).tolist()
        out[f"{key}_sd"] = np.nanstd(values, axis=0, ddof=1).tolist()
    return out


def _gates(reference: dict, run: dict, populations: list[str]) -> list[gates.Gate]:
    return [
        gates.rate_gate(populations, run["rate_hz"], reference),
        gates.irregularity_gate(populations, run["cv_isi"], reference),
        gates.asynchrony_gate(populations, run["correlation_2ms"], reference),
    ]


def test_there_are_references() -> None:
    assert REFERENCES, f"no NEST reference in {gates.DATA_DIR}"


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.stem)
def test_reference_has_seeds_spread_and_background(path: Path) -> None:
    ref = _load(path)
    assert len(ref["runs"]) >= 5
    assert len({r["seed"] for r in ref["runs"]}) == len(ref["runs"]), "seeds repeat"
    assert ref["background"] in {"poisson", "dc"}
    assert ref["config"]["poisson_input"] == (ref["background"] == "poisson")
    recomputed = _reference_from(ref["runs"])
    for key, value in recomputed.items():
        stored = np.asarray(ref[key], dtype=float)
        np.testing.assert_allclose(stored, value, rtol=1e-12, err_msg=key)
        if key.endswith("_sd"):
            assert np.all(stored > 0), f"{key} has a zero SD"
    assert f"--seeds {','.join(str(r['seed']) for r in ref['runs'])}" in ref["command"]
    assert f"--out {path.relative_to(gates.DATA_DIR.parents[3])}" in ref["command"]


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.stem)
def test_each_nest_seed_passes_rates_and_irregularity_against_the_other_seeds(path: Path) -> None:
    ref = _load(path)
    pops = ref["populations"]
    for i, run in enumerate(ref["runs"]):
        others = _reference_from(ref["runs"][:i] + ref["runs"][i + 1 :])
        for gate in _gates(others, run, pops)[:2]:
            assert gate.passed, f"seed {run['seed']} {gate.name}: {gate.detail}"


def test_the_pipeline_config_has_a_matching_reference() -> None:
    config = ColumnConfig()
    path = gates.find_reference(config.n_scaling, config.k_scaling, config.t_sim_ms)
    assert path is not None
    ref = _load(path)
    assert ref["config"]["t_sim_ms"] == config.t_sim_ms
    assert ref["config"]["warmup_ms"] == config.warmup_ms
    assert ref["background"] == ("poisson" if config.poisson_input else "dc")


# At N 0.02 (the pipeline's scale) NEST's own seed 1 misses the correlation floor against the
# other four seeds: L5I (21 neurons) 0.0126 vs 0.0180 +- 0.005, by 0.0004. The pipeline judges
# a run against all five seeds; this marks the false-fail risk of the gate at that scale.
SMALL_N_OUTLIER = pytest.mark.xfail(
    strict=True, reason="NEST seed 1 L5I correlation 0.0004 beyond the floor at N 0.02 (measured)"
)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=SMALL_N_OUTLIER) if "n0.02_" in p.name else p
        for p in REFERENCES
        if "_k0.1_t10000" in p.name
    ],
    ids=lambda p: p.stem,
)
def test_each_nest_seed_passes_all_gates_against_the_other_seeds_at_k_0_1(path: Path) -> None:
    # Leave-one-out for the correlation only at K_scaling 0.1 (the pipeline's): at K_scaling 1.0
    # it is heavy-tailed over seeds, and single NEST seeds miss 3 SDs of the other four there.
    # Against all five seeds a seed could not fail: with ddof=1 no value of 5 lies beyond
    # 4 / sqrt(5) = 1.79 SDs of their mean.
    ref = _load(path)
    pops = ref["populations"]
    for i, run in enumerate(ref["runs"]):
        others = _reference_from(ref["runs"][:i] + ref["runs"][i + 1 :])
        for gate in _gates(others, run, pops):
            assert gate.passed, f"seed {run['seed']} {gate.name}: {gate.detail}"


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.stem)
def test_gates_fail_on_broken_activity(path: Path) -> None:
    ref = _load(path)
    pops = ref["populations"]
    rates = 2.0 * np.asarray(ref["rate_hz_mean"])
    assert not gates.rate_gate(pops, rates.tolist(), ref).passed
    cv_tol = np.maximum(gates.CV_REF_TOL, 3 * np.asarray(ref["cv_isi_sd"]))
    cvs = np.asarray(ref["cv_isi_mean"]) + cv_tol + 0.05
    assert not gates.irregularity_gate(pops, cvs.tolist(), ref).passed
    correlations = np.asarray(ref["correlation_2ms_mean"]) + 0.05
    gate = gates.asynchrony_gate(pops, correlations.tolist(), ref)
    assert not gate.passed and "vs NEST" in gate.detail
    # One population off is enough: the one NEST pins down best (L2/3E's 3 SDs exceed 0.05 at K 1.0).
    corr_tol = np.maximum(3 * np.asarray(ref["correlation_2ms_sd"]), gates.CORR_ABS_FLOOR)
    assert corr_tol.min() < 0.05
    one_off = np.asarray(ref["correlation_2ms_mean"], dtype=float)
    one_off[np.argmin(corr_tol)] += 0.05
    assert not gates.asynchrony_gate(pops, one_off.tolist(), ref).passed


def test_gates_without_reference_use_the_absolute_fallbacks() -> None:
    pops = ["A", "B"]
    calm = gates.asynchrony_gate(pops, [0.001, -0.002], None)
    assert calm.passed and "no NEST reference" in calm.detail
    synchronous = gates.asynchrony_gate(pops, [0.001, gates.CORR_MAX * 2], None)
    assert not synchronous.passed and "B:" in synchronous.detail
    assert gates.irregularity_gate(pops, [0.8, 0.9], None).passed
    regular = gates.irregularity_gate(pops, [0.3, 0.4], None)
    assert not regular.passed and "no NEST reference" in regular.detail
    assert not gates.rate_gate(pops, [1.0, 2.0], None).passed


def test_one_seed_reference_falls_back_to_the_other_tolerances() -> None:
    # A one-seed reference (the benchmark's) stores null SDs: only the fixed tolerances apply.
    pops = ["A", "B"]
    ref = {
        "rate_hz_mean": [2.0, 4.0],
        "rate_hz_sd": [None, None],
        "cv_isi_mean": [0.8, 0.8],
        "cv_isi_sd": [None, None],
        "correlation_2ms_mean": [0.002, 0.003],
        "correlation_2ms_sd": [None, None],
    }
    assert gates.rate_gate(pops, [2.4, 4.9], ref).passed
    assert not gates.rate_gate(pops, [2.6, 4.0], ref).passed
    assert gates.irregularity_gate(pops, [0.9, 0.7], ref).passed
    assert not gates.irregularity_gate(pops, [0.97, 0.8], ref).passed
    assert gates.asynchrony_gate(pops, [0.002 + gates.CORR_ABS_FLOOR * 0.9, 0.003], ref).passed
    assert not gates.asynchrony_gate(pops, [0.002 + gates.CORR_ABS_FLOOR * 1.1, 0.003], ref).passed


def test_a_dc_column_is_not_judged_against_a_poisson_reference() -> None:
    assert gates.find_reference(0.1, 0.1, 10_000.0, poisson_input=True) is not None
    assert gates.find_reference(0.1, 0.1, 10_000.0, poisson_input=False) is None
