"""The hippocampus's validation figures: LFP spectrum with its theta and gamma peaks, the
theta-gamma comodulogram, a raster, and the CA3 recall curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from brainstar.core.figures import figure_png, new_figure
from brainstar.domain.regions.hippocampus import (
    CA3_OVERLAP_THRESHOLD,
    GAMMA_BAND,
    LFP_RATE_HZ,
    THETA_BAND,
    TRANSIENT_MS,
    ThetaGammaResult,
    comodulogram,
    lfp_spectrum,
    spectral_peak,
)

# Comodulogram axes: phase 2-14 Hz in 1 Hz steps (2 Hz bands), amplitude 20-120 Hz in 5 Hz steps
# (10 Hz bands), the ranges of Tort 2010's hippocampal comodulograms.
PHASE_FREQS = np.arange(3.0, 14.5, 1.0)
AMP_FREQS = np.arange(20.0, 125.0, 5.0)
_RASTER_MS = 1000.0


def theta_gamma_figure(result: ThetaGammaResult) -> Any:
    """Spectrum with the measured peaks, comodulogram, and one second of raster over the LFP."""
    fig = new_figure(11.0, 6.5)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.1])
    ax_psd, ax_como = top.subplots(1, 2)
    freqs, power = lfp_spectrum(result.lfp)
    shown = (freqs > 0) & (freqs <= 150)
    ax_psd.loglog(freqs[shown], power[shown], color="k")
    for band, colour in ((THETA_BAND, "tab:blue"), (GAMMA_BAND, "tab:red")):
        ax_psd.axvspan(*band, color=colour, alpha=0.15)
        freq, ratio = spectral_peak(freqs, power, band)
        peak = (freq, power[np.argmin(np.abs(freqs - freq))])
        ax_psd.plot(*peak, "o", color=colour)
        ax_psd.annotate(f"{freq:.1f} Hz, x{ratio:.1f}", peak, fontsize=7)
    ax_psd.set_xlabel("frequency (Hz)")
    ax_psd.set_ylabel("LFP proxy power")
    ax_psd.set_title("Welch spectrum (peak ratio to aperiodic fit)", fontsize=9)

    mi = comodulogram(result.lfp, PHASE_FREQS, AMP_FREQS)
    image = ax_como.pcolormesh(PHASE_FREQS, AMP_FREQS, mi, shading="nearest", cmap="viridis")
    fig.colorbar(image, ax=ax_como, label="modulation index")
    ax_como.set_xlabel("phase frequency (Hz)")
    ax_como.set_ylabel("amplitude frequency (Hz)")
    ax_como.set_title("comodulogram (Tort 2010 MI)", fontsize=9)

    ax_raster, ax_lfp = bottom.subplots(2, 1, sharex=True, height_ratios=[2.0, 1.0])
    offset = 0
    for name, colour in (("olm", "tab:green"), ("basket", "tab:red"), ("pyramidal", "tab:blue")):
        times, cells = result.spikes[name]
        window = (times >= TRANSIENT_MS) & (times < TRANSIENT_MS + _RASTER_MS)
        ax_raster.plot(times[window], cells[window] + offset, "|", color=colour, markersize=3, label=name)
        offset += int(getattr(result.params, f"n_{name}"))
    ax_raster.set_ylabel("cell")
    ax_raster.legend(loc="upper right", fontsize=7)
    samples = round(_RASTER_MS * LFP_RATE_HZ / 1000.0)
    t = TRANSIENT_MS + np.arange(samples) * 1000.0 / LFP_RATE_HZ
    ax_lfp.plot(t, result.lfp[:samples], color="k", linewidth=0.7)
    ax_lfp.set_xlabel("time (ms)")
    ax_lfp.set_ylabel("LFP proxy")
    return fig


def theta_gamma_png(result: ThetaGammaResult) -> bytes:
    return figure_png(theta_gamma_figure(result))


def recall_curve_figure(loads: Sequence[int], overlaps: Sequence[float], stated_load: int) -> Any:
    """Mean recall overlap from 50 % cues against the number of stored patterns."""
    fig = new_figure(5.0, 3.2)
    ax = fig.subplots()
    ax.plot(loads, overlaps, "o-", color="k")
    ax.axhline(CA3_OVERLAP_THRESHOLD, color="tab:red", linestyle="--", label="gate")
    ax.axvline(stated_load, color="0.6", linestyle=":", label="gate load")
    ax.set_xscale("log")
    ax.set_xlabel("stored patterns P")
    ax.set_ylabel("mean recall overlap")
    ax.set_ylim(0.0, 1.05)
    ax.legend(fontsize=7)
    return fig


def recall_curve_png(loads: Sequence[int], overlaps: Sequence[float], stated_load: int) -> bytes:
    return figure_png(recall_curve_figure(loads, overlaps, stated_load))
