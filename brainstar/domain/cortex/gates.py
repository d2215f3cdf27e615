"""Validation gates: each compares a measured quantity with a published or reference value.

Every gate returns a :class:`Gate` with ``measured``, ``reference`` and ``tolerance`` so that the
asset checks and the HTML report show the same numbers. Tolerances and their sources:

- rates: within max(25 % of the reference, 3 seed-SDs of the reference, 0.2 Hz) of the NEST
  reference for the same (N_scaling, K_scaling) - the research note's "pragmatic first gate of
  +-20-25 %" (NetPyNE scaled networks deviate <= 17 % at 10 % scale, Romaro et al. 2021).
  References (``tools/cortex_nest_reference.py``) hold 5 seeds, SD with ddof=1; a one-seed
  reference stores null SDs and then only the other terms of each tolerance apply;
- irregularity: every population's CV ISI within max(0.15, 3 seed-SDs) of the NEST reference
  for the same scaling; only without a reference, population-averaged CV ISI in [0.7, 1.0]
  (issue; NetPyNE full scale 0.81-0.94). CV depends on scaling and recorded duration: in NEST's
  own 1.5 s runs at K_scaling 1.0 it averages 0.684-0.712 by seed (L6E 0.61), so the band is
  only a fallback;
- asynchrony: every population's mean pairwise 2 ms spike-count correlation within
  max(3 seed-SDs, 0.005) of NEST's mean for the same scaling - NEST itself is not uncorrelated at
  every scaling (L2/3E 0.055 +- 0.026 over 5 seeds at K_scaling 1.0). The 0.005 floor is half the
  absolute bound below: a 5-seed SD is a poor estimate of the spread (leave-one-out, single NEST
  seeds lie up to 7 SDs of the other four from their mean, missing 3 SDs by up to 0.0005 at the
  pipeline's N = K = 0.1, where every seed-SD is < 0.0005), while 0.005 stays under the
  synchronous range. Only without a reference: |correlation| < 0.01 (INM-6 reference-data plot
  range +-0.015; research note section 6). At K_scaling 1.0 the correlation is heavy-tailed
  over seeds (leave-one-out fails NEST seeds 1 and 4), so there the gate is strict;
- STDP window (pairing protocol through the engine's synapse): within 1 % of NEST's
  ``stdp_synapse`` on the same protocol, LTP / LTD on the sides Bi & Poo (1998) found within 20 ms,
  and fitted time constants within 10 % of Bi & Poo's 16.8 / 33.7 ms;
- distal reward (Izhikevich 2007, Fig. 1): over the second half of the run the rewarded synapse
  averages >= 75 % of s_max and ranks in the top 0.1 % of all excitatory synapses, while the mean
  of the others ends within 50 % of its initial value;
- neuromodulators: each measured effect moves in its documented direction (``neuromodulation``);
- digits learned in the column (``column_learning``): on at least three seeds, held-out accuracy
  of the fixed readout >= 0.85 and >= 20 points above the same column with plasticity off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from brainstar.core.gates import Gate

# Not "data/": the root .gitignore ignores every folder of that name.
DATA_DIR = Path(__file__).resolve().parent / "reference_data"
RATE_REL_TOL = 0.25
RATE_ABS_TOL_HZ = 0.2
CV_BAND = (0.7, 1.0)
CV_REF_TOL = 0.15
CORR_MAX = 0.01
CORR_ABS_FLOOR = 0.005
TAU_REL_TOL = 0.10
NEST_WINDOW_REL_TOL = 0.01
BI_POO_WINDOW_MS = 20.0
REWARD_TIME_MEAN_FRACTION = 0.75
REWARD_RANK_FRACTION = 0.001
OTHERS_REL_TOL = 0.5
# The digit task learned in the column (issue floor): held-out accuracy of the fixed readout on
# every seed, its margin over the same column with plasticity off, and how many seeds it takes.
DIGIT_MIN_ACCURACY = 0.85
DIGIT_MIN_MARGIN = 0.20
DIGIT_MIN_SEEDS = 3


def find_reference(
    n_scaling: float, k_scaling: float, t_sim_ms: float | None = None, poisson_input: bool = True
) -> Path | None:
    """The committed NEST reference JSON for this scaling and background type (Poisson or DC;
    same t_sim preferred), or None: a DC column is never judged against a Poisson reference."""
    matches = []
    for path in sorted(DATA_DIR.glob("nest_reference_*.json")):
        config = json.loads(path.read_text())["config"]
        same_background = config.get("poisson_input", True) == poisson_input
        if (
            same_background
            and np.isclose(config["n_scaling"], n_scaling)
            and np.isclose(config["k_scaling"], k_scaling)
        ):
            matches.append((not np.isclose(config["t_sim_ms"], t_sim_ms or -1), path))
    return min(matches)[1] if matches else None


def rate_gate(populations: list[str], measured: list[float], reference: dict | None) -> Gate:
    if reference is None:
        return Gate("rates", False, measured, None, "-", "no NEST reference for this configuration")
    ref = np.asarray(reference["rate_hz_mean"], dtype=float)
    sd = _seed_sd(reference, "rate_hz_sd", ref.size)
    m = np.asarray(measured[: ref.size])
    tol = np.maximum.reduce([RATE_REL_TOL * ref, 3 * sd, np.full(ref.size, RATE_ABS_TOL_HZ)])
    bad = [
        f"{p}: {a:.2f} vs {b:.2f}+-{t:.2f}"
        for p, a, b, t in zip(populations, m, ref, tol, strict=False)
        if abs(a - b) > t
    ]
    return Gate(
        "rates",
        not bad,
        dict(zip(populations, np.round(m, 3).tolist(), strict=False)),
        dict(zip(populations, np.round(ref, 3).tolist(), strict=False)),
        f"max({RATE_REL_TOL:.0%} of ref, 3 seed-SD, {RATE_ABS_TOL_HZ} Hz) per population",
        "; ".join(bad) or "all populations within tolerance",
    )


def _seed_sd(reference: dict, key: str, size: int) -> np.ndarray:
    """The reference's seed-to-seed SD under ``key``; 0 where unknown (a one-seed reference stores null)."""
    stored = reference.get(key) or [None] * size
    return np.nan_to_num(np.array([np.nan if v is None else v for v in stored[:size]], dtype=float))


def irregularity_gate(populations: list[str], cvs: list[float | None], reference: dict | None) -> Gate:
    values = np.array([np.nan if c is None else c for c in cvs], dtype=float)
    mean_cv = float(np.nanmean(values))
    problems = []
    ref_cv = None
    if reference is not None and "cv_isi_mean" in reference:
        ref_cv = np.asarray(reference["cv_isi_mean"], dtype=float)
        tol = np.maximum(CV_REF_TOL, 3 * _seed_sd(reference, "cv_isi_sd", ref_cv.size))
        for p, a, b, t in zip(populations, values, ref_cv, tol, strict=False):
            if not np.isfinite(a) or abs(a - b) > t:
                problems.append(f"{p}: CV {a:.3f} vs NEST {b:.3f}+-{t:.3f}")
        tolerance = f"each population within max({CV_REF_TOL}, 3 seed-SD) of NEST"
        fallback = ""
    else:
        # The full-scale band only stands in for a reference: CV ISI depends on the scaling and on
        # the recorded duration, and NEST's own runs at K_scaling 1.0 sit about its lower edge.
        if not CV_BAND[0] <= mean_cv <= CV_BAND[1]:
            problems.append(f"population-averaged CV {mean_cv:.3f} outside {CV_BAND}")
        tolerance = f"population-averaged CV in {CV_BAND} (no NEST reference)"
        fallback = "no NEST reference for this configuration, full-scale band used: "
    return Gate(
        "irregularity",
        not problems,
        {"mean_cv": round(mean_cv, 4), **dict(zip(populations, np.round(values, 3).tolist(), strict=False))},
        {"band": list(CV_BAND), "nest_cv": None if ref_cv is None else np.round(ref_cv, 3).tolist()},
        tolerance,
        fallback + ("; ".join(problems) or "irregular"),
    )


def asynchrony_gate(populations: list[str], correlations: list[float | None], reference: dict | None) -> Gate:
    values = np.array([np.nan if c is None else c for c in correlations], dtype=float)
    measured = dict(zip(populations, np.round(values, 5).tolist(), strict=True))
    if reference is not None and "correlation_2ms_mean" in reference:
        # NEST's own column is not uncorrelated at every scaling (L2/3E 0.055 at K_scaling 1.0),
        # so the test is "as correlated as NEST on the same configuration".
        ref = np.asarray(reference["correlation_2ms_mean"], dtype=float)
        tol = np.maximum(3 * _seed_sd(reference, "correlation_2ms_sd", ref.size), CORR_ABS_FLOOR)
        bad = [
            f"{p}: {c:.4f} vs NEST {r:.4f}+-{t:.4f}"
            for p, c, r, t in zip(populations, values, ref, tol, strict=False)
            if not abs(c - r) <= t
        ]
        return Gate(
            "asynchrony",
            not bad,
            measured,
            dict(zip(populations, np.round(ref, 5).tolist(), strict=False)),
            f"mean pairwise CC (2 ms bins) within max(3 seed-SD, {CORR_ABS_FLOOR}) of NEST per population",
            "; ".join(bad) or "as asynchronous as NEST",
        )
    bad = [f"{p}: {c:.4f}" for p, c in zip(populations, values, strict=True) if not abs(c) < CORR_MAX]
    return Gate(
        "asynchrony",
        not bad,
        measured,
        0.0,
        f"|mean pairwise CC (2 ms bins)| < {CORR_MAX} (no NEST reference)",
        "no NEST reference for this configuration, absolute bound used: "
        + ("; ".join(bad) or "asynchronous"),
    )


def stdp_gate(stdp: dict[str, Any]) -> Gate:
    """The window measured by the pairing protocol through the engine's synapse: the same as
    NEST's ``stdp_synapse`` on the same protocol (within 1 % of its largest change), LTP for
    post-after-pre and LTD for pre-after-post within 20 ms (Bi & Poo 1998), and time constants
    fitted to the measured window within 10 % of Bi & Poo's (16.8 ms, 33.7 ms)."""
    problems = []
    nest = stdp.get("nest")
    if nest is None:
        problems.append(f"no NEST pairing reference for rule {stdp['rule']!r}")
        nest_error = None
    else:
        ours, theirs = np.asarray(nest["ours_dw"]), np.asarray(nest["dw"])
        nest_error = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
        if nest_error > NEST_WINDOW_REL_TOL:
            problems.append(f"differs from NEST by {nest_error:.1%} of its largest change")
    lags, dw = np.asarray(stdp["lags_ms"]), np.asarray(stdp["dw"])
    ltp = (lags > 0) & (lags <= BI_POO_WINDOW_MS)
    ltd = (lags < 0) & (lags >= -BI_POO_WINDOW_MS)
    if not (dw[ltp] > 0).all():
        problems.append(f"no LTP at lags {lags[ltp & (dw <= 0)].tolist()} ms")
    if not (dw[ltd] < 0).all():
        problems.append(f"no LTD at lags {lags[ltd & (dw >= 0)].tolist()} ms")
    fitted, bi_poo = stdp["fitted"], stdp["bi_poo"]
    errors = {k: abs(fitted[k] - bi_poo[k]) / bi_poo[k] for k in ("tau_plus_ms", "tau_minus_ms")}
    problems += [
        f"fitted {k} {fitted[k]:.1f} vs Bi & Poo {bi_poo[k]}" for k, e in errors.items() if e > TAU_REL_TOL
    ]
    return Gate(
        "stdp_window",
        not problems,
        {
            **{k: round(fitted[k], 3) for k in errors},
            "nest_max_relative_difference": None if nest_error is None else round(nest_error, 6),
        },
        {"bi_poo": bi_poo, "nest": None if nest is None else nest["simulator"]},
        f"NEST within {NEST_WINDOW_REL_TOL:.0%}; LTP/LTD signs within {BI_POO_WINDOW_MS:g} ms; "
        f"time constants within {TAU_REL_TOL:.0%} of Bi & Poo",
        "; ".join(problems) or "window as NEST's and Bi & Poo's",
    )


def distal_reward_gate(distal: dict[str, Any]) -> Gate:
    """Izhikevich's (2007) result: the rewarded synapse's weight, averaged over the second half of
    the run, is near s_max and among the strongest of all excitatory synapses, while the mean of
    the others stays within bounds of where it started."""
    s_max = distal["s_max"]
    time_mean = distal["rewarded_time_mean"]
    others = np.asarray(distal["others_time_mean"])
    rank = int((others >= time_mean).sum()) + 1
    rank_fraction = rank / (others.size + 1)
    drift = (distal["others_mean"][-1] - distal["initial_others_mean"]) / distal["initial_others_mean"]
    problems = []
    if time_mean < REWARD_TIME_MEAN_FRACTION * s_max:
        floor = REWARD_TIME_MEAN_FRACTION
        problems.append(f"rewarded synapse averaged {time_mean:.2f} < {floor:.0%} of s_max")
    if rank_fraction > REWARD_RANK_FRACTION:
        problems.append(f"rewarded synapse ranked {rank} of {others.size + 1}")
    if abs(drift) > OTHERS_REL_TOL:
        problems.append(f"other synapses drifted {drift:+.0%}")
    return Gate(
        "dopamine_distal_reward",
        not problems,
        {
            "rewarded_time_mean": round(time_mean, 3),
            "rank": rank,
            "n_synapses": others.size + 1,
            "others_drift": round(float(drift), 3),
            "n_rewards": distal["n_rewards"],
        },
        {"s_max": s_max, "others_initial": distal["initial_others_mean"]},
        f"second-half mean >= {REWARD_TIME_MEAN_FRACTION:.0%} of s_max, rank in the top "
        f"{REWARD_RANK_FRACTION:.1%}, others' mean within {OTHERS_REL_TOL:.0%} of initial",
        "; ".join(problems) or "the rewarded synapse alone was selected",
    )


def neuromodulator_gate(effects: dict[str, dict[str, Any]]) -> Gate:
    moved = {k: (v["high"] > v["low"]) == (v["expected"] == "increase") for k, v in effects.items()}
    return Gate(
        "neuromodulator_directions",
        all(moved.values()),
        {k: {"low": round(v["low"], 6), "high": round(v["high"], 6)} for k, v in effects.items()},
        {k: v["expected"] for k, v in effects.items()},
        "strict change in the documented direction",
        ", ".join(f"{k}: {'ok' if ok else 'WRONG DIRECTION'}" for k, ok in moved.items()),
    )


def digit_task_gate(training: dict[str, Any]) -> Gate:
    """Digits learned by the column's own synapses, read out by the fixed (Diehl & Cook) rule:
    on at least three seeds, every seed's held-out accuracy and its margin over the untrained
    twin reach the floors. The pixel logistic regression is reported, not judged."""
    trained = np.asarray(training["trained_accuracy"], dtype=float)
    control = np.asarray(training["control_accuracy"], dtype=float)
    margin = trained - control
    short = []
    if trained.size < DIGIT_MIN_SEEDS:
        short.append(f"{trained.size} seed(s), the gate needs {DIGIT_MIN_SEEDS}")
    short += [
        f"seed {seed}: {a:.3f} (off {c:.3f})"
        for seed, a, c in zip(training["seeds"], trained, control, strict=True)
        if a < DIGIT_MIN_ACCURACY or a - c < DIGIT_MIN_MARGIN
    ]
    return Gate(
        "digits_learned",
        not short,
        {
            "trained": np.round(trained, 3).tolist(),
            "plasticity_off": np.round(control, 3).tolist(),
            "pixels_logistic": np.round(training["pixel_accuracy"], 3).tolist(),
            "scale": training["scale"],
        },
        {"min_accuracy": DIGIT_MIN_ACCURACY, "min_margin": DIGIT_MIN_MARGIN, "min_seeds": DIGIT_MIN_SEEDS},
        f"held-out accuracy >= {DIGIT_MIN_ACCURACY} and >= {DIGIT_MIN_MARGIN:.0%} over plasticity off, "
        f"every seed, >= {DIGIT_MIN_SEEDS} seeds",
        "; ".join(short) or f"margin per seed {np.round(margin, 3).tolist()}",
    )
