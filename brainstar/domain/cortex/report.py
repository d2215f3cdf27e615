"""The validation report: one self-contained HTML file with matplotlib plots and the gate table."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from brainstar.domain.cortex.params import FULL_MEAN_RATES_HZ


def _figure_html(fig: Any, caption: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    image = f'<img src="data:image/png;base64,{data}"/>'
    return f"<figure>{image}<figcaption>{html.escape(caption)}</figcaption></figure>"


def metadata_png(fig: Any) -> bytes:
    """``fig`` as the small palette PNG an asset's metadata embeds (``brainstar.core.figures``)."""
    import matplotlib.pyplot as plt

    from brainstar.core.figures import figure_png

    try:
        return figure_png(fig)
    finally:
        plt.close(fig)


def raster(
    times_ms: np.ndarray, senders: np.ndarray, offsets: np.ndarray, pops: list[str], window_ms: float = 200.0
):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    start = times_ms.min() if times_ms.size else 0.0
    keep = times_ms < start + window_ms
    ax.plot(times_ms[keep], senders[keep], ",", color="k")
    ax.set_yticks((offsets[:-1] + offsets[1:]) / 2, pops)
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    return fig


def rates_vs_reference(pops: list[str], measured: list[float], reference: dict | None):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = np.arange(len(pops))
    ax.bar(x - 0.27, measured, 0.27, label="this engine")
    if reference is not None:
        ax.bar(
            x,
            reference["rate_hz_mean"][: len(pops)],
            0.27,
            yerr=reference["rate_hz_sd"][: len(pops)],
            capsize=3,
            label=f"NEST, same config (mean +- SD, {len(reference.get('runs', []))} seeds)",
        )
    full = list(FULL_MEAN_RATES_HZ) + [np.nan] * (len(pops) - len(FULL_MEAN_RATES_HZ))
    ax.bar(x + 0.27, full, 0.27, label="NEST full scale (INM-6)")
    ax.set_xticks(x, pops)
    ax.set_ylabel("rate (Hz)")
    ax.legend()
    return fig


def cv_histograms(pops: list[str], cv_per_neuron: np.ndarray, offsets: np.ndarray):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, (len(pops) + 1) // 2, figsize=(10, 4), sharex=True)
    for ax, pop, a, b in zip(axes.ravel(), pops, offsets[:-1], offsets[1:], strict=False):
        values = cv_per_neuron[a:b]
        ax.hist(values[np.isfinite(values)], bins=np.linspace(0, 2, 30))
        ax.axvspan(0.7, 1.0, color="g", alpha=0.15)
        ax.set_title(pop, fontsize=9)
    fig.supxlabel("CV of ISI (green: 0.7-1.0)")
    return fig


def correlation_histograms(pops: list[str], correlations: list[np.ndarray], reference: dict | None):
    """Pairwise 2 ms count correlations per population; NEST's mean (+- SD over seeds) marked."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, (len(pops) + 1) // 2, figsize=(10, 4), sharex=True)
    nest = (reference or {}).get("correlation_2ms_mean")
    nest_sd = (reference or {}).get("correlation_2ms_sd")
    for index, (ax, pop, values) in enumerate(zip(axes.ravel(), pops, correlations, strict=False)):
        finite = values[np.isfinite(values)]
        ax.hist(finite, bins=np.linspace(-0.05, 0.15, 41))
        if finite.size:
            ax.axvline(finite.mean(), color="C0", lw=1)
        if nest is not None and index < len(nest):
            ax.axvline(nest[index], color="C3", lw=1)
            if nest_sd is not None and nest_sd[index] is not None:
                ax.axvspan(nest[index] - nest_sd[index], nest[index] + nest_sd[index], color="C3", alpha=0.2)
        ax.set_title(pop, fontsize=9)
    fig.supxlabel("pairwise correlation, 2 ms bins (blue: mean here; red: NEST mean +- SD)")
    return fig


def stdp_window_plot(stdp: dict[str, Any]):
    """Measured window (engine synapse), NEST's on the same protocol, and Bi & Poo's exponentials
    scaled to the measured peak on each side (their published fit gives the shape)."""
    import matplotlib.pyplot as plt

    lags, dw = np.asarray(stdp["lags_ms"]), 100 * np.asarray(stdp["dw"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(lags, dw, "o", ms=3, label=f"engine synapse ({stdp['rule']})")
    if stdp.get("nest"):
        ax.plot(stdp["nest"]["lags_ms"], 100 * np.asarray(stdp["nest"]["dw"]), "x", ms=6, label="NEST")
    tau = stdp["bi_poo"]
    right, left = np.linspace(0.5, 100, 200), np.linspace(-100, -0.5, 200)
    ax.plot(
        right, dw[lags > 0].max() * np.exp(-right / tau["tau_plus_ms"]), "-", lw=1, label="Bi & Poo shape"
    )
    ax.plot(left, dw[lags < 0].min() * np.exp(left / tau["tau_minus_ms"]), "-", lw=1, color="C2")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("t_post - t_pre (ms)")
    ax.set_ylabel("weight change after 60 pairs (%)")
    ax.legend(fontsize=8)
    return fig


def digit_learning_curves(training: dict[str, Any]):
    """Validation accuracy of the fixed readout during training, per seed, with the end points of
    the plasticity-off control and the pixel baseline; and held-out accuracy per seed."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for seed, curve in zip(training["seeds"], training["curves"], strict=True):
        seen, accuracy = zip(*curve, strict=True)
        left.plot(seen, accuracy, "o-", label=f"seed {seed}")
    left.axhline(0.1, color="k", ls=":", label="chance")
    left.axhline(np.mean(training["pixel_accuracy"]), color="C7", ls="--", label="pixels, logistic")
    left.set_xlabel("training images seen")
    left.set_ylabel("validation accuracy")
    left.legend(fontsize=7)
    x = np.arange(len(training["seeds"]))
    right.bar(x - 0.27, training["trained_accuracy"], 0.27, label="trained column")
    right.bar(x, training["control_accuracy"], 0.27, label="plasticity off")
    right.bar(x + 0.27, training["pixel_accuracy"], 0.27, label="pixels, logistic")
    right.axhline(0.85, color="k", ls=":", lw=1)
    right.set_xticks(x, [f"seed {s}" for s in training["seeds"]])
    right.set_ylabel("held-out accuracy")
    right.legend(fontsize=7)
    return fig


def weight_distributions(training: dict[str, Any]):
    """Thalamocortical weights before and after learning (first seed), as fractions of w_max."""
    import matplotlib.pyplot as plt

    hist = training["weight_histogram"]
    edges = np.asarray(hist["edges"])
    fig, ax = plt.subplots(figsize=(6, 3))
    centers = (edges[:-1] + edges[1:]) / 2
    width = np.diff(edges)
    ax.bar(centers, hist["before"], width, alpha=0.6, label="before learning")
    ax.bar(centers, hist["after"], width, alpha=0.6, label="after learning")
    ax.set_xlabel(f"{hist['projection']} weight / w_max")
    ax.set_ylabel("synapses")
    ax.legend(fontsize=8)
    return fig


def distal_reward_plot(rewarded: np.ndarray, others_mean: np.ndarray, s_max: float):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    t = np.arange(1, rewarded.size + 1)
    ax.plot(t, rewarded, label="rewarded synapse")
    ax.plot(t, others_mean, label="mean of other E synapses")
    ax.axhline(s_max, color="k", ls=":", label="s_max")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("weight")
    ax.legend(fontsize=8)
    return fig


def render(title: str, gates: list[dict[str, Any]], figures: list[str], summary: dict[str, Any]) -> str:
    """Assemble the HTML page: gate table, figures, and the raw summary numbers."""
    rows = "".join(
        f"<tr><td>{html.escape(g['name'])}</td><td style='color:{'green' if g['passed'] else 'red'}'>"
        f"{'PASS' if g['passed'] else 'FAIL'}</td><td>{html.escape(str(g['measured']))}</td>"
        f"<td>{html.escape(str(g['reference']))}</td><td>{html.escape(g['tolerance'])}</td>"
        f"<td>{html.escape(g['detail'])}</td></tr>"
        for g in gates
    )
    import json

    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{border:1px solid #ccc;"
        "padding:4px;font-size:12px;vertical-align:top}table{border-collapse:collapse}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><h2>Gates</h2><table><tr><th>gate</th><th>result</th><th>measured</th>"
        f"<th>reference</th><th>tolerance</th><th>detail</th></tr>{rows}</table>"
        + "".join(figures)
        + f"<h2>Summary</h2><pre>{html.escape(json.dumps(summary, indent=1))}</pre></body></html>"
    )
