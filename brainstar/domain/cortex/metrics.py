"""Activity statistics of a simulated column (INM-6 / Dasbach et al. 2021 definitions).

- rate: spikes / (neurons * duration), mean over all neurons of a population including silent ones;
- CV ISI: per neuron with >= 3 spikes (>= 2 intervals), mean over those neurons;
- correlation: Pearson coefficient of spike counts in 2 ms bins, mean over distinct pairs of a
  subsample of up to ``n_corr`` active neurons per population.
"""

from __future__ import annotations

import numpy as np

from brainstar.domain.cortex.engine_numba import SpikeData

CORR_BIN_MS = 2.0


def population_rates_hz(spikes: SpikeData) -> np.ndarray:
    """(P,) mean firing rate of each population over the recording window."""
    duration_s = (spikes.t_stop_ms - spikes.t_start_ms) * 1e-3
    counts = np.bincount(spikes.senders, minlength=int(spikes.offsets[-1]))
    sizes = np.diff(spikes.offsets)
    return np.array(
        [
            counts[a:b].sum() / max(n, 1) / duration_s
            for a, b, n in zip(spikes.offsets[:-1], spikes.offsets[1:], sizes, strict=True)
        ]
    )


def _sorted_by_sender(spikes: SpikeData) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((spikes.times_ms, spikes.senders))
    return spikes.senders[order], spikes.times_ms[order]


def cv_isi_per_neuron(spikes: SpikeData) -> np.ndarray:
    """(N,) CV of inter-spike intervals per neuron; NaN for neurons with fewer than 3 spikes."""
    n = int(spikes.offsets[-1])
    senders, times = _sorted_by_sender(spikes)
    cv = np.full(n, np.nan)
    if senders.size < 3:
        return cv
    isi = np.diff(times)
    same = senders[1:] == senders[:-1]
    owner = senders[1:][same]
    isi = isi[same]
    count = np.bincount(owner, minlength=n).astype(float)
    total = np.bincount(owner, weights=isi, minlength=n)
    total_sq = np.bincount(owner, weights=isi * isi, minlength=n)
    ok = count >= 2
    mean = total[ok] / count[ok]
    var = np.maximum(total_sq[ok] / count[ok] - mean**2, 0.0)
    cv[ok] = np.sqrt(var) / mean
    return cv


def mean_cv_isi(spikes: SpikeData) -> np.ndarray:
    """(P,) mean CV ISI per population (NaN if no neuron has >= 3 spikes)."""
    cv = cv_isi_per_neuron(spikes)
    out = []
    for a, b in zip(spikes.offsets[:-1], spikes.offsets[1:], strict=True):
        part = cv[a:b]
        out.append(float(np.nanmean(part)) if np.isfinite(part).any() else float("nan"))
    return np.array(out)


def mean_pairwise_correlation(spikes: SpikeData, n_corr: int = 200, seed: int = 0) -> np.ndarray:
    """(P,) mean pairwise spike-count correlation in 2 ms bins over up to ``n_corr`` active neurons."""
    rng = np.random.default_rng(seed)
    edges = np.arange(spikes.t_start_ms, spikes.t_stop_ms + CORR_BIN_MS / 2, CORR_BIN_MS)
    counts = np.bincount(spikes.senders, minlength=int(spikes.offsets[-1]))
    out = []
    for a, b in zip(spikes.offsets[:-1], spikes.offsets[1:], strict=True):
        active = np.arange(a, b)[counts[a:b] > 0]
        if active.size < 2:
            out.append(float("nan"))
            continue
        chosen = np.sort(rng.choice(active, size=min(n_corr, active.size), replace=False))
        mask = np.isin(spikes.senders, chosen)
        row = np.searchsorted(chosen, spikes.senders[mask])
        col = np.clip(np.digitize(spikes.times_ms[mask], edges) - 1, 0, edges.size - 2)
        binned = np.zeros((chosen.size, edges.size - 1))
        np.add.at(binned, (row, col), 1.0)
        cc = np.corrcoef(binned)
        upper = cc[np.triu_indices(chosen.size, k=1)]
        out.append(float(np.nanmean(upper)))
    return np.array(out)


def population_fano_factor(spikes: SpikeData, bin_ms: float = 1.0) -> np.ndarray:
    """(P,) variance / mean of the population spike count in ``bin_ms`` bins (Romaro 2021 synchrony)."""
    edges = np.arange(spikes.t_start_ms, spikes.t_stop_ms + bin_ms / 2, bin_ms)
    out = []
    for a, b in zip(spikes.offsets[:-1], spikes.offsets[1:], strict=True):
        mask = (spikes.senders >= a) & (spikes.senders < b)
        hist, _ = np.histogram(spikes.times_ms[mask], edges)
        out.append(float(hist.var() / hist.mean()) if hist.mean() > 0 else float("nan"))
    return np.array(out)


def summarize(spikes: SpikeData) -> dict[str, dict[str, float]]:
    """Per-population rate (Hz), mean CV ISI, spike count, mean correlation: JSON-ready."""
    rates = population_rates_hz(spikes)
    cvs = mean_cv_isi(spikes)
    corr = mean_pairwise_correlation(spikes)
    fano = population_fano_factor(spikes)
    counts = np.bincount(spikes.senders, minlength=int(spikes.offsets[-1]))
    result = {}
    for i, pop in enumerate(spikes.populations):
        a, b = spikes.offsets[i], spikes.offsets[i + 1]
        result[pop] = {
            "n_neurons": int(b - a),
            "rate_hz": float(rates[i]),
            "cv_isi": _finite(cvs[i]),
            "spike_count": int(counts[a:b].sum()),
            "correlation_2ms": _finite(corr[i]),
            "fano_factor_1ms": _finite(fano[i]),
        }
    return result


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
