"""The model builders a catalogue entry can name: one per region model, each a parameter
dataclass (whose defaults are the published values, cited where they are defined) and a run
that simulates it and judges its gates.

The column's builder simulates its spontaneous activity against NEST's reference at the same
scaling (the rate, irregularity and asynchrony gates of the cortex pipeline); its learning is
the cortex pipeline's own business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from brainstar.domain.brain_modules.module_run import ModuleRun
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.regions import basal_ganglia as bg
from brainstar.domain.regions import hippocampus as hc


@dataclass(frozen=True)
class Builder:
    """A model a catalogue entry can name."""

    name: str
    description: str
    params_type: type
    gate_names: tuple[str, ...]
    run: Callable[[Any], ModuleRun]

    def params(self, overrides: dict[str, Any]) -> Any:
        """The default parameters with ``overrides`` applied; unknown names and values of the
        wrong kind raise ``ValueError`` naming them."""
        fields = {f.name: f for f in dataclasses.fields(self.params_type)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise ValueError(f"{self.name} has no parameter {unknown}; it has {sorted(fields)}")
        defaults = self.params_type()
        converted = {}
        for name, value in overrides.items():
            default = getattr(defaults, name)
            converted[name] = _like(default, value, f"{self.name}.{name}")
        return dataclasses.replace(defaults, **converted)


def _like(default: Any, value: Any, where: str) -> Any:
    """``value`` as the type of ``default`` (YAML gives lists for tuples, ints for floats)."""
    if isinstance(default, bool) or isinstance(value, bool):
        if type(default) is not type(value):
            raise ValueError(f"{where}: expected {type(default).__name__}, got {value!r}")
        return value
    if isinstance(default, int | float) and isinstance(value, int | float):
        if isinstance(default, int) and not float(value).is_integer():
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        return type(default)(value)
    if isinstance(default, tuple) and isinstance(value, list | tuple) and len(value) == len(default):
        return tuple(_like(d, v, where) for d, v in zip(default, value, strict=True))
    raise ValueError(f"{where}: expected a value like {default!r}, got {value!r}")


# --- the cortical column ----------------------------------------------------------------------


def _run_column(config: ColumnConfig) -> ModuleRun:
    from brainstar.domain.cortex import gates, report, simulation, validation

    summary = simulation.simulate(config)
    pops = list(summary["populations"])
    values = summary["populations"]
    rates = [values[p]["rate_hz"] for p in pops]
    reference = validation.load_reference(config)
    column_gates = [
        gates.rate_gate(pops, rates, reference),
        gates.irregularity_gate(pops, [values[p]["cv_isi"] for p in pops], reference),
        gates.asynchrony_gate(pops, [values[p]["correlation_2ms"] for p in pops], reference),
    ]
    figures = {"rates": report.metadata_png(report.rates_vs_reference(pops, rates, reference))}
    return ModuleRun(column_gates, summary, figures)


# --- the hippocampus --------------------------------------------------------------------------


def _run_theta_gamma(params: hc.ThetaGammaParams) -> ModuleRun:
    from brainstar.domain.regions.hippocampus_report import theta_gamma_png

    result = hc.simulate_theta_gamma(params)
    summary = {"rates_hz": result.rates_hz, "duration_ms": params.duration_ms}
    return ModuleRun(hc.theta_gamma_gates(result), summary, {"theta_gamma": theta_gamma_png(result)})


# Loads of the recall curve: below, at and far above the stated load of CA3Params.
RECALL_LOADS = (25, 50, 100, 200, 400, 800)


def _run_ca3(params: hc.CA3Params) -> ModuleRun:
    from brainstar.domain.regions.hippocampus_report import recall_curve_png

    result = hc.simulate_ca3(params)
    curve = hc.recall_curve(RECALL_LOADS, params)
    summary = {
        "mean_overlap": result.mean_overlap,
        "recall_curve": {"loads": list(RECALL_LOADS), "overlaps": curve.round(4).tolist()},
    }
    png = recall_curve_png(RECALL_LOADS, curve.tolist(), params.n_patterns)
    return ModuleRun([hc.pattern_completion_gate(result)], summary, {"recall_curve": png})


# --- the basal ganglia ------------------------------------------------------------------------


def _run_basal_ganglia(params: bg.BasalGangliaParams) -> ModuleRun:
    from brainstar.domain.regions.basal_ganglia_report import gpi_traces_png

    validation = bg.validate(params)
    summary = {
        "threshold": validation.threshold,
        # Per dopamine level, the channels selected in each phase (0-based).
        "selected": {
            name: [list(phase) for phase in result.selected(validation.threshold)]
            for name, result in validation.results.items()
        },
        "dopamine": {name: result.dopamine for name, result in validation.results.items()},
    }
    return ModuleRun(validation.gates, summary, {"gpi_traces": gpi_traces_png(validation)})


BUILDERS: dict[str, Builder] = {
    b.name: b
    for b in (
        Builder(
            "cortical_column",
            "Potjans & Diesmann 2014 column (numba engine), spontaneous activity against NEST",
            ColumnConfig,
            ("rates", "irregularity", "asynchrony"),
            _run_column,
        ),
        Builder(
            "hippocampus_theta_gamma",
            "CA1-like pyramidal, basket and O-LM network (Tort 2008, Kopell 2010): theta, gamma, PAC",
            hc.ThetaGammaParams,
            (
                "hippocampus_theta_peak",
                "hippocampus_gamma_peak",
                "hippocampus_theta_gamma_pac",
                "hippocampus_firing_rates",
            ),
            _run_theta_gamma,
        ),
        Builder(
            "hippocampus_ca3",
            "CA3 autoassociative memory (Willshaw weights): pattern completion from half cues",
            hc.CA3Params,
            ("ca3_pattern_completion",),
            _run_ca3,
        ),
        Builder(
            "basal_ganglia",
            "Gurney, Prescott & Redgrave 2001 action selection at three dopamine levels",
            bg.BasalGangliaParams,
            ("bg_selection", "bg_switching", "bg_dopamine"),
            _run_basal_ganglia,
        ),
    )
}
