"""The Gurney, Prescott & Redgrave (2001) basal-ganglia action-selection circuit, rate-based.

Sources. "GPR 2001a" is Gurney K, Prescott TJ, Redgrave P (2001) A computational model of action
selection in the basal ganglia. I. A new functional anatomy. Biol Cybern 84:401-410;
"GPR 2001b" is part II, Analysis and simulation of behaviour, Biol Cybern
84:411-423, doi:10.1007/PL00007985. "ModelDB 83560" is the authors' own MATLAB port of the model
(M. Humphries, ``intrinsicmodel/intrinsic_model_ZOH.m`` and ``GPR_engine.m``, headed "Parameters
are taken from Gurney et al (2001) Bio Cyber"); every number below was read there and re-typed,
and agrees with the GPR 2001a/b parameter set as reused elsewhere (e.g. nengo's
``networks/actionselection.py`` ``Weights``). Equation numbers of the papers are not cited because
the full text was not at hand to check them; the quantities are named as the papers name them.

The circuit. Each of ``n`` channels carries a salience ``c_i`` (cortical input, 0..1) and has one
unit per nucleus: striatum D1 ("selection" pathway), striatum D2 ("control" pathway), STN, GPe
and GPi/SNr. Each unit is a leaky integrator ``da/dt = -k (a - u)`` of its summed input ``u`` with
the piecewise-linear output ``y = clip(m (a - epsilon), 0, 1)`` (GPR 2001a, the model neuron).

    D1:   u = w_ctx_d1  c_i (1 + lambda)                  (dopamine enhances D1, GPR 2001a)
    D2:   u = w_ctx_d2  c_i (1 - lambda)                  (dopamine attenuates D2, GPR 2001a)
    STN:  u = w_ctx_stn c_i + w_gpe_stn y_GPe,i
    GPe:  u = w_stn_gpe sum_j y_STN,j + w_d2_gpe y_D2,i   (STN excitation is diffuse, all channels)
    GPi:  u = w_stn_gpi sum_j y_STN,j + w_gpe_gpi y_GPe,i + w_d1_gpi y_D1,i

A channel is selected when the GPi releases its target from inhibition (the disinhibition account
of selection, GPR 2001a): its GPi output falls below :func:`selection_threshold`, 90 % of the
tonic GPi output of the published circuit at zero salience for the same number of channels
(0.1695 -> 0.1526 for the six-channel protocol). Why that level: GPi output above its resting value
inhibits the target more than when nothing is requested, and the 10 % margin keeps rounding and
negligible dips from counting as selection. The gates' verdicts on the published circuit are the
same for any fraction from 0.51 to 0.99 (the winners end at 0.085 and 0.042, the losers at >= 0.23,
the depleted winners at >= 0.215), which ``tests/regions`` checks.

Integration. The exact exponential (zero-order hold) step ``a <- u + (a - u) exp(-k dt)`` with the
inputs held over the step, as ModelDB 83560 does, vectorised over channels. The nuclei update in
the authors' order within a step (striatum, STN from the previous step's GPe, then GPe and GPi
from this step's outputs); updating all at once from the previous step leaves the STN-GPe loop
ringing far longer. Each protocol phase lasts 25 time constants, so every phase
ends at its steady state (:attr:`SelectionResult.residual` records how close).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from brainstar.core.gates import Gate

NUCLEI: tuple[str, ...] = ("D1", "D2", "STN", "GPe", "GPi")
_D1, _D2, _STN, _GPE, _GPI = range(len(NUCLEI))


@dataclass(frozen=True)
class BasalGangliaParams:
    """Weights, output thresholds, unit dynamics and dopamine signs; defaults are GPR 2001a/b."""

    # Cortical salience onto the striatal populations and the STN: unit weights (GPR 2001a;
    # ModelDB 83560 W_SEL, W_CONT, W_STN = 1).
    w_ctx_d1: float = 1.0
    w_ctx_d2: float = 1.0
    w_ctx_stn: float = 1.0
    # Focused striatal inhibition: D1 -> GPi and D2 -> GPe, same channel (GPR 2001a; ModelDB 83560
    # W_SEL_GPi, W_CONT_GPe = -1).
    w_d1_gpi: float = -1.0
    w_d2_gpe: float = -1.0
    # Diffuse STN excitation of every channel of GPe and GPi (GPR 2001a/b; ModelDB 83560
    # W_STN_GPe, W_STN_GPi = 0.9).
    w_stn_gpe: float = 0.9
    w_stn_gpi: float = 0.9
    # GPe's focused inhibition of STN and GPi (GPR 2001a/b; ModelDB 83560 W_GPe_STN = -1,
    # W_GPe_GPi = -0.3).
    w_gpe_stn: float = -1.0
    w_gpe_gpi: float = -0.3
    # Output thresholds epsilon of the piecewise-linear output (GPR 2001b; ModelDB 83560 e_SEL,
    # e_CONT = 0.2, e_STN = -0.25, e_GPe = e_GPi = -0.2). Negative thresholds give the STN and
    # the pallidum their tonic output at zero input.
    eps_d1: float = 0.2
    eps_d2: float = 0.2
    eps_stn: float = -0.25
    eps_gpe: float = -0.2
    eps_gpi: float = -0.2
    # Slope m of the output function (GPR 2001a; ModelDB 83560 m = 1).
    slope: float = 1.0
    # Leak rate k of the leaky integrator, i.e. time constant 1/k = 0.04 in the papers' time unit
    # (GPR 2001a; ModelDB 83560 k = 25, "tau = 1/k = 0.04").
    k: float = 25.0
    # Time step (ModelDB 83560 dt = 0.01, which its GPR_engine notes must stay below 1/k).
    dt: float = 0.01
    # Dopamine multiplies the cortical input to D1 by (1 + lambda) and to D2 by (1 - lambda)
    # (GPR 2001a, the dopamine model; ModelDB 83560 u_SEL = c (1 + da_sel), u_CONT = c (1 - da_cont)).
    # The signs are parameters so that a test can swap them.
    d1_dopamine_sign: float = 1.0
    d2_dopamine_sign: float = -1.0


GPR2001 = BasalGangliaParams()

# Dopamine (lambda) levels of the validation. 0.2 is the level of the GPR 2001b simulations
# (ModelDB 83560 da_sel = da_cont = 0.2); 0 removes the tonic modulation (the depleted case) and
# 0.8 is a high level chosen here. Measured in steps of 0.05 (tests/regions): the published
# protocol selects and switches cleanly for lambda 0.1-0.3, and lets channels 1 and 2 through
# together from 0.35.
DOPAMINE_LOW = 0.0
DOPAMINE_DEFAULT = 0.2
DOPAMINE_HIGH = 0.8
DOPAMINE_LEVELS: dict[str, float] = {"low": DOPAMINE_LOW, "default": DOPAMINE_DEFAULT, "high": DOPAMINE_HIGH}

# The GPR 2001b selection-and-switching protocol as the authors' script runs it (ModelDB 83560:
# six channels, dt = 0.01, 5 time units): nothing until t = 1, then channel 1 at 0.4; at t = 2
# channel 2 at 0.6; at t = 3 a transient raises channel 1 by 0.2 to 0.6; at t = 4 channel 1 falls
# back to 0.4. Rows are the five phases, columns (channel 1, channel 2); the other four channels
# stay at 0.
PROTOCOL_N_CHANNELS = 6
PROTOCOL_PHASE_DURATION = 1.0
PROTOCOL_CH1_CH2: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (0.4, 0.0),
    (0.4, 0.6),
    (0.6, 0.6),
    (0.4, 0.6),
)

# The selection threshold as a fraction of the tonic GPi output (module docstring).
SELECTION_FRACTION = 0.9

# A phase counts as at steady state when no unit's activation moved by more than this in its last
# step: far below the 0.06-0.14 margins of the GPi outputs around the selection threshold.
STEADY_STATE_TOL = 1e-6


@dataclass(frozen=True)
class SelectionResult:
    """One run: GPi output traces and every nucleus's steady state at the end of each phase.

    Channels are 0-based indices here (the papers' "channel 1" is index 0).
    """

    saliences: np.ndarray  # (phases, channels), each row held for phase_duration
    dopamine: float
    params: BasalGangliaParams
    phase_duration: float
    times: np.ndarray  # (steps,), the time at the end of each step
    gpi: np.ndarray  # (steps, channels), GPi/SNr output
    phase_outputs: np.ndarray  # (phases, nuclei, channels), outputs at the end of each phase
    residual: np.ndarray = field(repr=False)  # (phases,), max |delta a| over the last step

    @property
    def phase_gpi(self) -> np.ndarray:
        """(phases, channels): GPi output at the end of each phase."""
        return self.phase_outputs[:, _GPI, :]

    @property
    def converged(self) -> bool:
        return bool(np.all(self.residual <= STEADY_STATE_TOL))

    def selected(self, threshold: float) -> list[tuple[int, ...]]:
        """Per phase, the channels whose GPi output ends below ``threshold``."""
        return [selected_channels(row, threshold) for row in self.phase_gpi]


def selected_channels(gpi_output: np.ndarray, threshold: float) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(np.asarray(gpi_output) < threshold))


def ramp_output(activation: np.ndarray, epsilon: np.ndarray | float, slope: float) -> np.ndarray:
    """GPR 2001a's piecewise-linear output: 0 below epsilon, slope m above, saturating at 1."""
    return np.clip(slope * (activation - epsilon), 0.0, 1.0)


def simulate(
    saliences: np.ndarray,
    dopamine: float,
    params: BasalGangliaParams = GPR2001,
    phase_duration: float = PROTOCOL_PHASE_DURATION,
) -> SelectionResult:
    """Integrate the circuit from rest through ``saliences`` (phases x channels), each phase held
    for ``phase_duration`` (one step per phase: ``phase_duration = params.dt``)."""
    c = np.asarray(saliences, dtype=float)
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] < 1:
        raise ValueError(f"saliences must be (phases, channels), got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("saliences must be finite")
    if not math.isfinite(dopamine):
        raise ValueError(f"dopamine must be finite, got {dopamine!r}")
    if not (params.k > 0 and params.dt > 0):
        raise ValueError(f"k and dt must be positive, got k={params.k}, dt={params.dt}")
    steps = round(phase_duration / params.dt)
    if steps < 1 or not math.isclose(steps * params.dt, phase_duration, rel_tol=1e-9):
        raise ValueError(f"phase_duration {phase_duration} must be a positive multiple of dt {params.dt}")

    n_phases, n_channels = c.shape
    p = params
    epsilon = np.array([p.eps_d1, p.eps_d2, p.eps_stn, p.eps_gpe, p.eps_gpi])[:, None]
    d1_gain = 1.0 + p.d1_dopamine_sign * dopamine
    d2_gain = 1.0 + p.d2_dopamine_sign * dopamine
    decay = math.exp(-p.k * p.dt)

    activation = np.zeros((len(NUCLEI), n_channels))
    output = ramp_output(activation, epsilon, p.slope)
    gpi = np.empty((n_phases * steps, n_channels))
    phase_outputs = np.empty((n_phases, len(NUCLEI), n_channels))
    residual = np.empty(n_phases)

    def advance(nucleus: int, drive: np.ndarray) -> None:
        activation[nucleus] = drive + (activation[nucleus] - drive) * decay
        output[nucleus] = ramp_output(activation[nucleus], epsilon[nucleus], p.slope)

    for phase, salience in enumerate(c):
        # The cortical terms are constant within a phase; only the loops through STN and GPe move.
        d1_drive = p.w_ctx_d1 * salience * d1_gain
        d2_drive = p.w_ctx_d2 * salience * d2_gain
        for step in range(steps):
            previous = activation.copy()
            # In ModelDB 83560's order: STN reads the GPe of the previous step, GPe and GPi read
            # this step's STN, D2 and D1. Updating all at once from the previous step instead
            # leaves the STN-GPe loop ringing (3e-5 per step after 25 time constants).
            advance(_D1, d1_drive)
            advance(_D2, d2_drive)
            advance(_STN, p.w_ctx_stn * salience + p.w_gpe_stn * output[_GPE])
            stn_total = output[_STN].sum()
            advance(_GPE, p.w_stn_gpe * stn_total + p.w_d2_gpe * output[_D2])
            advance(_GPI, p.w_stn_gpi * stn_total + p.w_gpe_gpi * output[_GPE] + p.w_d1_gpi * output[_D1])
            gpi[phase * steps + step] = output[_GPI]
        phase_outputs[phase] = output
        residual[phase] = float(np.abs(activation - previous).max())
    times = p.dt * np.arange(1, n_phases * steps + 1)
    return SelectionResult(c, float(dopamine), params, phase_duration, times, gpi, phase_outputs, residual)


def protocol_saliences(n_channels: int = PROTOCOL_N_CHANNELS) -> np.ndarray:
    """The GPR 2001b protocol (``PROTOCOL_CH1_CH2``) as (phases, channels)."""
    if n_channels < 2:
        raise ValueError(f"the protocol needs at least 2 channels, got {n_channels}")
    saliences = np.zeros((len(PROTOCOL_CH1_CH2), n_channels))
    saliences[:, :2] = PROTOCOL_CH1_CH2
    return saliences


def tonic_gpi_output(n_channels: int = PROTOCOL_N_CHANNELS) -> float:
    """The published circuit's GPi output at zero salience (dopamine has no effect there)."""
    rest = simulate(np.zeros((1, n_channels)), DOPAMINE_DEFAULT, GPR2001, phase_duration=2.0)
    if not rest.converged:
        raise RuntimeError("the published circuit did not settle at zero salience")
    return float(rest.phase_gpi[0, 0])


def selection_threshold(n_channels: int = PROTOCOL_N_CHANNELS, fraction: float = SELECTION_FRACTION) -> float:
    """``fraction`` of :func:`tonic_gpi_output`: always the published circuit's, so that a modified
    circuit is judged by the same yardstick."""
    return fraction * tonic_gpi_output(n_channels)


def _unique_winners(saliences: np.ndarray) -> list[tuple[int, int]]:
    """(phase, channel) for every phase whose largest salience is positive and held by one channel."""
    winners = []
    for phase, row in enumerate(saliences):
        top = np.flatnonzero(row == row.max())
        if row.max() > 0 and top.size == 1:
            winners.append((phase, int(top[0])))
    return winners


def _channel_names(channels: Sequence[int]) -> str:
    return "{" + ", ".join(f"ch{i + 1}" for i in channels) + "}"


def _not_settled(result: SelectionResult) -> str:
    return "" if result.converged else f"; not at steady state (residual {result.residual.max():.2g})"


def selection_gate(result: SelectionResult, threshold: float) -> Gate:
    """In every phase with one most salient channel, that channel and only it is selected."""
    selected = result.selected(threshold)
    measured, bad = {}, []
    for phase, winner in _unique_winners(result.saliences):
        gpi = result.phase_gpi[phase]
        others = np.delete(gpi, winner)
        measured[f"phase {phase + 1}"] = {
            "winner": f"ch{winner + 1}",
            "winner_gpi": round(float(gpi[winner]), 4),
            "lowest_other_gpi": round(float(others.min()), 4),
        }
        if selected[phase] != (winner,):
            bad.append(
                f"phase {phase + 1}: selected {_channel_names(selected[phase])}, expected ch{winner + 1}"
            )
    passed = bool(measured) and not bad and result.converged
    return Gate(
        "bg_selection",
        passed,
        measured,
        "GPR 2001b: the most salient channel alone is selected (channel 1 at 0.4, then channel 2 at 0.6)",
        f"winner's GPi output < {threshold:.4f} ({SELECTION_FRACTION:.0%} of tonic) <= every other's",
        "; ".join(bad) + _not_settled(result) if not passed else "the most salient channel alone selected",
    )


def switching_gate(result: SelectionResult, threshold: float) -> Gate:
    """When the most salient channel changes, selection moves cleanly from the old to the new one."""
    selected = result.selected(threshold)
    winners = _unique_winners(result.saliences)
    switches = [(a, b) for a, b in itertools.pairwise(winners) if a[1] != b[1]]
    measured, bad = {}, []
    for (before, old), (after, new) in switches:
        key = f"phase {before + 1} -> {after + 1}"
        measured[key] = f"{_channel_names(selected[before])} -> {_channel_names(selected[after])}"
        if selected[before] != (old,) or selected[after] != (new,):
            bad.append(f"{key}: {measured[key]}, expected {{ch{old + 1}}} -> {{ch{new + 1}}}")
    passed = bool(switches) and not bad and result.converged
    detail = "; ".join(bad) if bad else "" if switches else "the saliences never change their winner"
    return Gate(
        "bg_switching",
        passed,
        measured,
        "GPR 2001b: channel 2 at 0.6 takes selection over from channel 1 at 0.4, which is deselected",
        f"selected set (GPi output < {threshold:.4f}) is exactly the old, then exactly the new winner",
        detail + _not_settled(result) if not passed else "selection switched cleanly",
    )


def dopamine_gate(low: SelectionResult, high: SelectionResult, threshold: float) -> Gate:
    """Low dopamine: no phase selects its most salient channel cleanly. High: two or more at once."""
    clean_low = [
        phase
        for phase, winner in _unique_winners(low.saliences)
        if low.selected(threshold)[phase] == (winner,)
    ]
    most_high = max(len(s) for s in high.selected(threshold))
    low_winner_gpi = [float(low.phase_gpi[phase, winner]) for phase, winner in _unique_winners(low.saliences)]
    passed = not clean_low and most_high >= 2 and low.converged and high.converged
    measured = {
        f"lambda={low.dopamine:g}: phases with clean selection": len(clean_low),
        f"lambda={low.dopamine:g}: winners' lowest GPi output": round(
            min(low_winner_gpi, default=math.nan), 4
        ),
        f"lambda={high.dopamine:g}: most channels selected at once": most_high,
    }
    problems = []
    if clean_low:
        problems.append(
            f"lambda={low.dopamine:g} still selects cleanly in phases {[p + 1 for p in clean_low]}"
        )
    if most_high < 2:
        problems.append(f"lambda={high.dopamine:g} never lets two channels through")
    return Gate(
        "bg_dopamine",
        passed,
        measured,
        "GPR 2001b: low dopamine abolishes selection, high dopamine selects several channels together",
        f"low: 0 phases with clean selection; high: >= 2 channels below {threshold:.4f} in some phase",
        "; ".join(problems) + _not_settled(low) + _not_settled(high) if not passed else "as published",
    )


@dataclass(frozen=True)
class BasalGangliaValidation:
    threshold: float
    results: dict[str, SelectionResult]  # keyed by DOPAMINE_LEVELS' names
    gates: list[Gate]

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)


def validate(
    params: BasalGangliaParams = GPR2001, n_channels: int = PROTOCOL_N_CHANNELS
) -> BasalGangliaValidation:
    """Run the GPR 2001b protocol at the three dopamine levels and judge the three gates."""
    threshold = selection_threshold(n_channels)
    saliences = protocol_saliences(n_channels)
    results = {name: simulate(saliences, level, params) for name, level in DOPAMINE_LEVELS.items()}
    gates = [
        selection_gate(results["default"], threshold),
        switching_gate(results["default"], threshold),
        dopamine_gate(results["low"], results["high"], threshold),
    ]
    return BasalGangliaValidation(threshold, results, gates)
