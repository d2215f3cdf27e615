"""The basal ganglia's validation figure: GPi output across selection and switching, per dopamine level."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brainstar.core.figures import figure_png, new_figure
from brainstar.domain.regions.basal_ganglia import BasalGangliaValidation, SelectionResult

# Channels 1 and 2 carry the protocol's saliences; channel 3 stands for the unstimulated rest.
_TRACED_CHANNELS = (0, 1, 2)


def gpi_traces_figure(results: Mapping[str, SelectionResult], threshold: float) -> Any:
    """One panel per dopamine level (top to bottom in ``results``' order): GPi output of channels
    1-3 over the protocol, the selection threshold, and each phase's saliences of channels 1 and 2."""
    fig = new_figure(8.0, 2.2 * len(results) + 0.4)
    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, result) in zip(axes, results.items(), strict=True):
        for channel in _TRACED_CHANNELS:
            if channel < result.gpi.shape[1]:
                ax.plot(result.times, result.gpi[:, channel], label=f"ch{channel + 1}")
        ax.axhline(threshold, color="k", linestyle="--", linewidth=0.8, label="selection threshold")
        for phase, salience in enumerate(result.saliences):
            start = phase * result.phase_duration
            if phase:
                ax.axvline(start, color="0.8", linewidth=0.8)
            ax.text(
                start + 0.5 * result.phase_duration,
                0.97,
                f"c1={salience[0]:.1f} c2={salience[1]:.1f}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=7,
            )
        ax.set_ylim(-0.02, max(0.7, float(result.gpi.max()) + 0.1))
        ax.set_ylabel("GPi output")
        ax.set_title(f"dopamine {name} (lambda = {result.dopamine:g})", fontsize=9)
    axes[0].legend(loc="center right", fontsize=7)
    tau = 1.0 / next(iter(results.values())).params.k
    axes[-1].set_xlabel(f"time (model units; time constant 1/k = {tau:g})")
    return fig


def gpi_traces_png(validation: BasalGangliaValidation) -> bytes:
    """The validation's GPi traces as PNG bytes, for the report and the asset's metadata."""
    return figure_png(gpi_traces_figure(validation.results, validation.threshold))
