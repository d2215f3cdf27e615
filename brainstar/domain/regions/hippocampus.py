"""Hippocampus: a theta-gamma network of CA1-like cells, and CA3 pattern completion.

Two models, each with its gates; the parameters' sources are cited beside each value.

1. Theta-gamma network
----------------------
Sources. "Tort 2007" is Tort ABL, Rotstein HG, Dugladze T, Gloveli T, Kopell NJ (2007) On the
formation of gamma-coherent cell assemblies by oriens lacunosum-moleculare interneurons in the
hippocampus. PNAS 104:13490-13495. "Kopell 2010" is Kopell N, Boergers C, Pervouchine D, Malerba P,
Tort A (2010) Gamma and theta rhythms in biophysical models of hippocampal circuits, in Cutsuridis
et al. (eds) Hippocampal Microcircuits, Springer, pp 423-457. "Olufsen 2003" is Olufsen MS,
Whittington MA, Camperi M, Kopell N (2003) New roles for the gamma rhythm: population tuning and
preprocessing for the beta rhythm. J Comput Neurosci 14:33-54 (the reduced Traub-Miles pyramidal
cell used by Tort 2007). "WB 1996" is Wang X-J, Buzsaki G (1996) Gamma oscillation by synaptic
inhibition in a hippocampal interneuronal network model. J Neurosci 16:6402-6413. "Rotstein 2005"
is Rotstein HG, Pervouchine DD, Acker CD, Gillies MJ, White JA, Buhl EH, Whittington MA, Kopell N
(2005) Slow and fast inhibition and an H-current interact to create a theta rhythm in a model of
CA1 interneuron network. J Neurophysiol 94:1509-1518 (the O-LM cell, reused by Tort 2007; its I_A
and I_h kinetics agree with the NEURON port ``iholmkop.mod``/``kaolmkop.mod`` of Tort 2007 by M.
Lazarewicz). "Tort 2010" is Tort ABL, Komorowski R, Eichenbaum H, Kopell N (2010) Measuring
phase-amplitude coupling between neuronal oscillations of different frequencies. J Neurophysiol
104:1195-1210 (the modulation index).

The circuit. Single-compartment Hodgkin-Huxley cells: ``N_E`` pyramidal cells (reduced
Traub-Miles, Olufsen 2003), ``N_I`` basket/PV cells (WB 1996, fast spiking) and ``N_O`` O-LM cells
(Rotstein 2005 / Tort 2007, with the A-current and the h-current whose slow kinetics pace them at
theta). Sodium activation is instantaneous (``m = m_inf``) in all three, as in Tort 2007. Synapses
follow Tort 2007/Kopell 2010: each presynaptic cell carries a gating variable
``ds/dt = (1 + tanh(V/4))/2 (1 - s)/tau_R - s/tau_D`` and connectivity is all-to-all with the
maximal conductance divided by the presynaptic population size. The gamma rhythm is mixed ING/PING
(Kopell 2010): driven basket cells inhibit each other and the pyramidal cells with GABA_A kinetics
(tau_D = 9 ms) and receive AMPA input from them; the O-LM cells fire at theta and their slow
GABA_A inhibition (tau_D = 20 ms) of the pyramidal and basket cells paces the gamma bursts, which
gives the theta-gamma coupling (Tort 2007, Kopell 2010).

What is not published. The cell models and synaptic time constants are the published ones; the
maximal synaptic conductances, the applied currents and the noise were tuned here (Tort 2007 and
Kopell 2010 use other network sizes and protocols) so that the network sits in the regime the gates
describe; each such value is marked "tuned" below.

Integration. dt = 0.05 ms. Gating variables and synaptic gates take the exponential
(Rush-Larsen) step ``x <- x_inf + (x - x_inf) exp(-dt / tau_x)`` with the voltage held over the
step; membrane potentials take the Euler-Maruyama step with independent Gaussian current noise per
cell. The LFP proxy is the summed synaptic current onto the pyramidal cells (the currents that
dominate the extracellular field in CA1), anti-aliased and decimated to 1 kHz; the first 500 ms
(the start-up transient) are dropped before any measurement.

Gates. Theta (4-12 Hz) and gamma (30-80 Hz) peaks: the Welch spectrum's maximum inside the band
must be a local maximum at least :data:`PEAK_RATIO_THRESHOLD` times the aperiodic (power-law)
background fitted outside both bands. Phase-amplitude coupling: Tort 2010's modulation index of the
gamma amplitude over 18 theta-phase bins must exceed the 95th percentile of 200 surrogates whose
amplitude series is circularly shifted against the phase series (Tort 2010's time-shift control).
Rates: pyramidal cells 0.5-3 Hz, basket cells and O-LM cells within :data:`RATE_RANGES`.

2. CA3 pattern completion
-------------------------
Sources. "Willshaw 1969" is Willshaw DJ, Buneman OP, Longuet-Higgins HC (1969) Non-holographic
associative memory. Nature 222:960-962 (binary synapses switched on by coincident pre- and
postsynaptic activity, "clipped" Hebbian learning, and the threshold equal to the number of active
inputs). "Marr 1971" is Marr D (1971) Simple memory: a theory for archicortex. Phil Trans R Soc
Lond B 262:23-81 (the recurrent collaterals of CA3 as an autoassociative memory that completes a
stored event from part of it, with inhibition setting the threshold). "Treves & Rolls 1994" is
Treves A, Rolls ET (1994) Computational analysis of the role of the hippocampus in memory.
Hippocampus 4:374-391 (sparse coding in CA3 and its storage capacity). "Rolls 2013" is Rolls ET
(2013) The mechanisms for pattern completion and pattern separation in the hippocampus. Front Syst
Neurosci 7:74 (completion from partial cues as the CA3 recall benchmark).

The model. ``N`` binary CA3 cells store ``P`` random patterns, each with exactly ``round(a N)``
active cells (coding level ``a``). The weights are the clipped Hebbian matrix of Willshaw 1969,
``W_ij = 1`` if cells ``i`` and ``j`` were active together in any stored pattern (the diagonal
included: an active cell belongs to its own pattern), else 0. Recall is synchronous: the dendritic
sum is ``h = W x`` and a cell fires when ``h_i >= theta``, with the global-inhibition threshold
``theta = sum(x)``, the number of currently active cells (Willshaw 1969's threshold; Marr 1971's
inhibition scaled by activity). The update repeats until the state stops changing (at most
``max_steps``). A cue keeps a random fraction (50 %) of a stored pattern's active cells and
silences the rest; the overlap is the Pearson correlation between the recalled state and the
stored pattern (1 for perfect recall; 0 when unrelated).

Why this load. With clipped weights the fraction of switched-on synapses is
``p1 = 1 - (1 - a^2)^P`` (Willshaw 1969); a cell outside the pattern reaches threshold only if all
``c`` cue cells connect to it, with probability ``p1^c``. At N = 1000, a = 0.05, P = 50 that is
p1 = 0.118 and c = 25, so completion is essentially perfect; at P = 2000 (p1 = 0.993) almost every
cell reaches threshold and recall collapses, which the failing test uses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import numpy as np

from brainstar.core.gates import Gate

# --- 1. Theta-gamma network -------------------------------------------------------------------

THETA_BAND: tuple[float, float] = (4.0, 12.0)
GAMMA_BAND: tuple[float, float] = (30.0, 80.0)
# A band's peak must stand this many times above the aperiodic background: without the rhythm
# the ratio stays below 2 (estimation noise), with it 6-35 over seeds 0-2 (tests/regions).
PEAK_RATIO_THRESHOLD = 3.0
# Rates (Hz) during theta. Pyramidal 0.5-3 Hz: CA1 place cells' mean rates are ~1 Hz with a skewed
# distribution (Mizuseki K, Buzsaki G (2013) Cell Rep 4:1010-1021; Csicsvari J et al. (1999)
# J Neurosci 19:274-287). Basket/PV cells fire at tens of Hz, phase-locked to theta and gamma
# (Csicsvari et al. 1999; Lapray D et al. (2012) Nat Neurosci 15:1265-1271). O-LM cells fire at
# most about once per theta cycle, near its trough (Klausberger T et al. (2003) Nature 421:844-848;
# Varga C et al. (2012) PNAS 109:E2726-E2734). The interneuron bounds are broad envelopes of those
# reports, not values re-read from their tables.
RATE_RANGES: dict[str, tuple[float, float]] = {
    "pyramidal": (0.5, 3.0),
    "basket": (10.0, 50.0),
    "olm": (2.0, 15.0),
}
LFP_RATE_HZ = 1000.0
TRANSIENT_MS = 500.0


@dataclass(frozen=True)
class SynapseKinetics:
    """Rise and decay times (ms) and reversal potential (mV) of one presynaptic type."""

    tau_rise: float
    tau_decay: float
    reversal: float


@dataclass(frozen=True)
class ThetaGammaParams:
    """Sizes, drives, synapses and integration of the theta-gamma network (conductances in
    mS/cm^2, currents in uA/cm^2, times in ms)."""

    n_pyramidal: int = 80
    n_basket: int = 20
    n_olm: int = 20
    # Synaptic kinetics (Tort 2007; Kopell 2010): AMPA from pyramidal cells, fast GABA_A from basket
    # cells, slow GABA_A from O-LM cells (their dendritic synapses decay ~2x slower).
    ampa: SynapseKinetics = SynapseKinetics(0.1, 3.0, 0.0)
    gaba_basket: SynapseKinetics = SynapseKinetics(0.3, 9.0, -80.0)
    gaba_olm: SynapseKinetics = SynapseKinetics(0.2, 20.0, -80.0)
    # Maximal conductances, summed over the presynaptic population (tuned). The connection types
    # are a subset of Tort 2007's and Kopell 2010's E-I-O networks: E->O and E->E are left out,
    # since here the O-LM cells pace themselves and PING needs no recurrent excitation.
    g_pyr_basket: float = 1.0
    g_basket_pyr: float = 0.6
    g_basket_basket: float = 0.5
    g_basket_olm: float = 0.6
    g_olm_pyr: float = 2.0
    g_olm_basket: float = 2.0
    # Applied currents, mean and across-cell standard deviation (tuned): pyramidal cells just above
    # rheobase so inhibition keeps them sparse; basket cells driven into the ING regime; O-LM cells
    # hyperpolarised, where their I_h and I_A set a ~6 Hz rhythm and the basket->O-LM inhibition
    # aligns them (the fast/slow-inhibition theta of Rotstein 2005).
    drive_pyramidal: tuple[float, float] = (1.4, 0.5)
    drive_basket: tuple[float, float] = (3.0, 0.05)
    drive_olm: tuple[float, float] = (-2.0, 0.1)
    # Current noise, uA/cm^2 per sqrt(ms) (tuned): desynchronises the pyramidal cells.
    noise_pyramidal: float = 1.0
    noise_basket: float = 0.3
    duration_ms: float = 3000.0
    dt_ms: float = 0.05
    seed: int = 0


def _linexp(x: np.ndarray, k: float) -> np.ndarray:
    """``x / (1 - exp(-x/k))``, with its limit ``k`` at the removable singularity ``x = 0``."""
    denominator = -np.expm1(-x / k)
    return np.divide(x, denominator, out=np.full_like(x, k), where=denominator != 0)


def _relax(x: np.ndarray, x_inf: np.ndarray, rate: np.ndarray | float, dt: float) -> np.ndarray:
    return x_inf + (x - x_inf) * np.exp(-dt * rate)


class _Cells(ABC):
    """One population's membrane potentials and gates; subclasses give the published currents."""

    def __init__(self, v: np.ndarray) -> None:
        self.v = v
        self.h = np.full_like(v, 0.9)
        self.n = np.full_like(v, 0.1)

    @abstractmethod
    def rates(self, v: np.ndarray) -> tuple[np.ndarray, ...]:
        """``m_inf`` and the alpha/beta rates (1/ms) of h and n."""

    @abstractmethod
    def ionic(self, v: np.ndarray, m_inf: np.ndarray) -> np.ndarray:
        """The membrane's ionic current (uA/cm^2, outward positive)."""

    def advance(self, v: np.ndarray, dt: float) -> np.ndarray:
        """Advance the gates over one step; return the ionic current at the step's start."""
        m_inf, ah, bh, an, bn = self.rates(v)
        current = self.ionic(v, m_inf)
        self.h = _relax(self.h, ah / (ah + bh), ah + bh, dt)
        self.n = _relax(self.n, an / (an + bn), an + bn, dt)
        return current


class _Pyramidal(_Cells):
    """Reduced Traub-Miles cell (Olufsen 2003; Tort 2007): g_Na 100, g_K 80, g_L 0.1 mS/cm^2,
    E_Na 50, E_K -100, E_L -67 mV, C 1 uF/cm^2."""

    def rates(self, v: np.ndarray) -> tuple[np.ndarray, ...]:
        am = 0.32 * _linexp(v + 54.0, 4.0)
        bm = 0.28 * _linexp(-(v + 27.0), 5.0)
        ah = 0.128 * np.exp(-(v + 50.0) / 18.0)
        bh = 4.0 / (1.0 + np.exp(-(v + 27.0) / 5.0))
        an = 0.032 * _linexp(v + 52.0, 5.0)
        bn = 0.5 * np.exp(-(v + 57.0) / 40.0)
        return am / (am + bm), ah, bh, an, bn

    def ionic(self, v: np.ndarray, m_inf: np.ndarray) -> np.ndarray:
        return 100.0 * m_inf**3 * self.h * (v - 50.0) + 80.0 * self.n**4 * (v + 100.0) + 0.1 * (v + 67.0)


class _Basket(_Cells):
    """Wang-Buzsaki cell (WB 1996): g_Na 35, g_K 9, g_L 0.1 mS/cm^2, E_Na 55, E_K -90, E_L -65 mV,
    temperature factor phi = 5 on the h and n kinetics."""

    phi = 5.0

    def rates(self, v: np.ndarray) -> tuple[np.ndarray, ...]:
        am = 0.1 * _linexp(v + 35.0, 10.0)
        bm = 4.0 * np.exp(-(v + 60.0) / 18.0)
        ah = 0.07 * np.exp(-(v + 58.0) / 20.0)
        bh = 1.0 / (np.exp(-(v + 28.0) / 10.0) + 1.0)
        an = 0.01 * _linexp(v + 34.0, 10.0)
        bn = 0.125 * np.exp(-(v + 44.0) / 80.0)
        return am / (am + bm), self.phi * ah, self.phi * bh, self.phi * an, self.phi * bn

    def ionic(self, v: np.ndarray, m_inf: np.ndarray) -> np.ndarray:
        return 35.0 * m_inf**3 * self.h * (v - 55.0) + 9.0 * self.n**4 * (v + 90.0) + 0.1 * (v + 65.0)


class _OLM(_Cells):
    """O-LM cell (Rotstein 2005; Tort 2007): g_Na 30, g_K 23, g_L 0.05, g_A 16, g_h 12 mS/cm^2,
    E_Na 90, E_K -100, E_L -70, E_A -90, E_h -32.9 mV; I_A = g_A a b (V - E_A) with tau_a = 5 ms,
    I_h = g_h r (V - E_h)."""

    def __init__(self, v: np.ndarray) -> None:
        super().__init__(v)
        self.a = np.full_like(v, 0.1)
        self.b = np.full_like(v, 0.1)
        self.r = np.full_like(v, 0.1)

    def rates(self, v: np.ndarray) -> tuple[np.ndarray, ...]:
        am = 0.1 * _linexp(v + 38.0, 10.0)
        bm = 4.0 * np.exp(-(v + 65.0) / 18.0)
        ah = 0.07 * np.exp(-(v + 63.0) / 20.0)
        bh = 1.0 / (1.0 + np.exp(-(v + 33.0) / 10.0))
        an = 0.018 * _linexp(v - 25.0, 25.0)
        bn = 0.0036 * _linexp(-(v - 35.0), 12.0)
        return am / (am + bm), ah, bh, an, bn

    def ionic(self, v: np.ndarray, m_inf: np.ndarray) -> np.ndarray:
        return (
            30.0 * m_inf**3 * self.h * (v - 90.0)
            + 23.0 * self.n**4 * (v + 100.0)
            + 0.05 * (v + 70.0)
            + 16.0 * self.a * self.b * (v + 90.0)
            + 12.0 * self.r * (v + 32.9)
        )

    def advance(self, v: np.ndarray, dt: float) -> np.ndarray:
        current = super().advance(v, dt)
        a_inf = 1.0 / (1.0 + np.exp(-(v + 14.0) / 16.6))
        b_inf = 1.0 / (1.0 + np.exp((v + 71.0) / 7.3))
        b_rate = 0.000009 * np.exp(-(v - 26.0) / 18.5) + 0.014 / (0.2 + np.exp(-(v + 70.0) / 11.0))
        r_inf = 1.0 / (1.0 + np.exp((v + 84.0) / 10.2))
        r_rate = np.exp(-14.59 - 0.086 * v) + np.exp(-1.87 + 0.0701 * v)
        self.a = _relax(self.a, a_inf, 1.0 / 5.0, dt)
        self.b = _relax(self.b, b_inf, b_rate, dt)
        self.r = _relax(self.r, r_inf, r_rate, dt)
        return current


@dataclass(frozen=True)
class ThetaGammaResult:
    params: ThetaGammaParams
    lfp: np.ndarray  # LFP proxy at LFP_RATE_HZ after the transient
    rates_hz: dict[str, float]  # mean firing rate per population after the transient
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]  # (times ms, cell index) per population


def simulate_theta_gamma(params: ThetaGammaParams = ThetaGammaParams()) -> ThetaGammaResult:
    """Integrate the network (see the module docstring for the method) and return its LFP proxy,
    rates and spikes."""
    p = params
    rng = np.random.default_rng(p.seed)
    sizes = {"pyramidal": p.n_pyramidal, "basket": p.n_basket, "olm": p.n_olm}
    cells = {
        "pyramidal": _Pyramidal(-65.0 + 5.0 * rng.random(p.n_pyramidal)),
        "basket": _Basket(-65.0 + 5.0 * rng.random(p.n_basket)),
        "olm": _OLM(-65.0 + 5.0 * rng.random(p.n_olm)),
    }
    drives = {
        name: mean + sd * rng.standard_normal(sizes[name])
        for name, (mean, sd) in (
            ("pyramidal", p.drive_pyramidal),
            ("basket", p.drive_basket),
            ("olm", p.drive_olm),
        )
    }
    noise = {"pyramidal": p.noise_pyramidal, "basket": p.noise_basket, "olm": 0.0}
    kinetics = {"pyramidal": p.ampa, "basket": p.gaba_basket, "olm": p.gaba_olm}
    # (postsynaptic, presynaptic) -> maximal conductance; absent pairs are unconnected.
    conductances = {
        ("basket", "pyramidal"): p.g_pyr_basket,
        ("pyramidal", "basket"): p.g_basket_pyr,
        ("basket", "basket"): p.g_basket_basket,
        ("olm", "basket"): p.g_basket_olm,
        ("pyramidal", "olm"): p.g_olm_pyr,
        ("basket", "olm"): p.g_olm_basket,
    }
    # Per postsynaptic population: (presynaptic population, conductance, reversal) of its inputs.
    inputs = {
        post: [(pre, g, kinetics[pre].reversal) for (to, pre), g in conductances.items() if to == post and g]
        for post in sizes
    }
    gates = {name: np.zeros(size) for name, size in sizes.items()}
    n_steps = round(p.duration_ms / p.dt_ms)
    lfp = np.empty(n_steps)
    spike_times: dict[str, list[np.ndarray]] = {name: [] for name in sizes}
    spike_cells: dict[str, list[np.ndarray]] = {name: [] for name in sizes}
    noise_scale = np.sqrt(p.dt_ms)
    for step in range(n_steps):
        mean_gate = {name: float(s.mean()) if s.size else 0.0 for name, s in gates.items()}
        for post, pop in cells.items():
            v = pop.v
            synaptic = np.zeros_like(v)
            for pre, g, reversal in inputs[post]:
                synaptic += g * mean_gate[pre] * (v - reversal)
            if post == "pyramidal":
                lfp[step] = synaptic.sum()
            ionic = pop.advance(v, p.dt_ms)
            v_new = v + p.dt_ms * (drives[post] - ionic - synaptic)
            if noise[post]:
                v_new += noise[post] * noise_scale * rng.standard_normal(v.size)
            fired = np.flatnonzero((v < 0.0) & (v_new >= 0.0))
            if fired.size:
                spike_times[post].append(np.full(fired.size, step * p.dt_ms))
                spike_cells[post].append(fired)
            # Synaptic gates use the voltage at the step's start, like the membrane currents.
            k = kinetics[post]
            rise = 0.5 * (1.0 + np.tanh(v / 4.0)) / k.tau_rise
            rate = rise + 1.0 / k.tau_decay
            gates[post] = _relax(gates[post], rise / rate, rate, p.dt_ms)
            pop.v = v_new
    from scipy import signal  # lazily: the Dagster code location imports this module

    factor = round(1000.0 / (LFP_RATE_HZ * p.dt_ms))
    decimated = signal.decimate(lfp, factor, ftype="fir") if factor > 1 else lfp
    keep = round(TRANSIENT_MS * LFP_RATE_HZ / 1000.0)
    measured_s = (p.duration_ms - TRANSIENT_MS) / 1000.0
    spikes = {
        name: (
            np.concatenate(spike_times[name]) if spike_times[name] else np.empty(0),
            np.concatenate(spike_cells[name]) if spike_cells[name] else np.empty(0, dtype=int),
        )
        for name in sizes
    }
    rates = {
        name: float(np.count_nonzero(spikes[name][0] >= TRANSIENT_MS) / max(size, 1) / measured_s)
        for name, size in sizes.items()
    }
    return ThetaGammaResult(p, decimated[keep:], rates, spikes)


def lfp_spectrum(lfp: np.ndarray, fs: float = LFP_RATE_HZ) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectrum of the LFP proxy, 0.5 s Hann segments (~2 Hz resolution), 50 % overlap."""
    from scipy import signal

    nperseg = min(len(lfp), round(0.512 * fs))
    return signal.welch(lfp - lfp.mean(), fs=fs, nperseg=nperseg)


def _background_bins(freqs: np.ndarray) -> np.ndarray:
    """Frequencies outside both bands (and their 2 Hz margins) where the aperiodic fit is made."""
    return (
        ((freqs >= 1.0) & (freqs < THETA_BAND[0]))
        | ((freqs > THETA_BAND[1] + 2.0) & (freqs < GAMMA_BAND[0] - 2.0))
        | ((freqs > GAMMA_BAND[1] + 10.0) & (freqs < 200.0))
    )


def spectral_peak(freqs: np.ndarray, power: np.ndarray, band: tuple[float, float]) -> tuple[float, float]:
    """``(frequency, ratio)`` of the band's maximum over a power-law background fitted outside the
    bands; the ratio is 0 when that maximum is not above both neighbouring bins (a slope running
    out of the band, not a peak)."""
    fit = np.polyfit(np.log(freqs[_background_bins(freqs)]), np.log(power[_background_bins(freqs)]), 1)
    inside = np.flatnonzero((freqs >= band[0]) & (freqs <= band[1]))
    best = int(inside[np.argmax(power[inside])])
    if best == 0 or best == len(power) - 1 or power[best] <= max(power[best - 1], power[best + 1]):
        return float(freqs[best]), 0.0
    background = np.exp(np.polyval(fit, np.log(freqs[best])))
    return float(freqs[best]), float(power[best] / background)


def _band(x: np.ndarray, band: tuple[float, float], fs: float) -> np.ndarray:
    """Analytic signal of ``x`` band-passed by a zero-phase 3rd-order Butterworth filter."""
    from scipy import signal

    b, a = signal.butter(3, [band[0] / (fs / 2), band[1] / (fs / 2)], btype="band")
    return signal.hilbert(signal.filtfilt(b, a, x))


def phase_amplitude(
    lfp: np.ndarray, phase_band: tuple[float, float], amp_band: tuple[float, float], fs: float = LFP_RATE_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """Theta phase and gamma amplitude envelope (Hilbert), 200 ms trimmed at each end against the
    filters' edge effects."""
    trim = round(0.2 * fs)
    phase = np.angle(_band(lfp, phase_band, fs))[trim:-trim]
    amplitude = np.abs(_band(lfp, amp_band, fs))[trim:-trim]
    return phase, amplitude


def modulation_index(phase: np.ndarray, amplitude: np.ndarray, n_bins: int = 18) -> float:
    """Tort 2010's MI: the KL divergence of the phase-binned mean-amplitude distribution from the
    uniform one, divided by log(n_bins) (18 bins of 20 degrees, as Tort 2010)."""
    bins = np.minimum(((phase + np.pi) / (2 * np.pi) * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    mean_amp = np.bincount(bins, amplitude, minlength=n_bins) / np.maximum(counts, 1)
    dist = mean_amp / mean_amp.sum()
    dist = dist[dist > 0]
    return float((np.log(n_bins) + np.sum(dist * np.log(dist))) / np.log(n_bins))


def surrogate_modulation_indices(
    phase: np.ndarray, amplitude: np.ndarray, n_surrogates: int = 200, seed: int = 0
) -> np.ndarray:
    """MIs with the amplitude circularly shifted by a random lag of 10-90 % of the series (Tort
    2010's time-shift surrogates keep each series' own structure and break their alignment)."""
    rng = np.random.default_rng(seed)
    n = amplitude.size
    lags = rng.integers(n // 10, n - n // 10, size=n_surrogates)
    return np.array([modulation_index(phase, np.roll(amplitude, lag)) for lag in lags])


def comodulogram(
    lfp: np.ndarray,
    phase_freqs: np.ndarray,
    amp_freqs: np.ndarray,
    phase_width: float = 2.0,
    amp_width: float = 10.0,
    fs: float = LFP_RATE_HZ,
) -> np.ndarray:
    """MI for each (amplitude frequency, phase frequency) pair of bands centred on the given
    frequencies (Tort 2010's comodulogram), shape ``(len(amp_freqs), len(phase_freqs))``."""
    out = np.empty((len(amp_freqs), len(phase_freqs)))
    for j, fp in enumerate(phase_freqs):
        for i, fa in enumerate(amp_freqs):
            phase_band = (fp - phase_width / 2, fp + phase_width / 2)
            amp_band = (fa - amp_width / 2, fa + amp_width / 2)
            phase, amp = phase_amplitude(lfp, phase_band, amp_band, fs)
            out[i, j] = modulation_index(phase, amp)
    return out


def _peak_gate(name: str, result: ThetaGammaResult, band: tuple[float, float]) -> Gate:
    freq, ratio = spectral_peak(*lfp_spectrum(result.lfp), band)
    return Gate(
        name=name,
        passed=bool(ratio >= PEAK_RATIO_THRESHOLD),
        measured={"frequency_hz": round(freq, 2), "ratio_to_background": round(ratio, 2)},
        reference={"band_hz": band, "ratio_to_background": PEAK_RATIO_THRESHOLD},
        tolerance="interior local maximum in band, ratio >= reference",
        detail="Welch spectrum of the summed synaptic current onto pyramidal cells (Tort 2007, Kopell 2010)",
    )


def theta_peak_gate(result: ThetaGammaResult) -> Gate:
    return _peak_gate("hippocampus_theta_peak", result, THETA_BAND)


def gamma_peak_gate(result: ThetaGammaResult) -> Gate:
    return _peak_gate("hippocampus_gamma_peak", result, GAMMA_BAND)


def pac_gate(result: ThetaGammaResult, n_surrogates: int = 200) -> Gate:
    phase, amplitude = phase_amplitude(result.lfp, THETA_BAND, GAMMA_BAND)
    mi = modulation_index(phase, amplitude)
    threshold = float(np.percentile(surrogate_modulation_indices(phase, amplitude, n_surrogates), 95))
    return Gate(
        name="hippocampus_theta_gamma_pac",
        passed=bool(mi > threshold),
        measured=round(mi, 5),
        reference=round(threshold, 5),
        tolerance="> 95th percentile of time-shifted surrogates",
        detail=f"Tort 2010 modulation index, theta {THETA_BAND} Hz phase, gamma {GAMMA_BAND} Hz amplitude, "
        f"{n_surrogates} surrogates",
    )


def rates_gate(result: ThetaGammaResult) -> Gate:
    inside = {name: lo <= result.rates_hz[name] <= hi for name, (lo, hi) in RATE_RANGES.items()}
    return Gate(
        name="hippocampus_firing_rates",
        passed=all(inside.values()),
        measured={name: round(rate, 2) for name, rate in result.rates_hz.items()},
        reference=RATE_RANGES,
        tolerance="each population's mean rate within its range",
        detail="out of range: " + (", ".join(n for n, ok in inside.items() if not ok) or "none"),
    )


def theta_gamma_gates(result: ThetaGammaResult) -> list[Gate]:
    return [theta_peak_gate(result), gamma_peak_gate(result), pac_gate(result), rates_gate(result)]


# --- 2. CA3 pattern completion ----------------------------------------------------------------

# Gate: mean recall overlap from 50 % cues, the completion criterion of the issue (Rolls 2013 uses
# the correlation between recalled and stored pattern as its completion measure).
CA3_OVERLAP_THRESHOLD = 0.9


@dataclass(frozen=True)
class CA3Params:
    """Network size, sparseness, load and recall protocol; the defaults are the stated gate load."""

    # CA3 is sparse: coding levels of a few percent (Treves & Rolls 1994 take a ~ 0.02-0.05;
    # Rolls 2013). N = 1000 keeps the test fast; the real CA3 has ~3e5 cells per side in the rat.
    n_cells: int = 1000
    coding_level: float = 0.05
    # Load: P = 50 patterns, ~ a quarter of the Willshaw capacity at this size (the load where p1
    # reaches 0.5 is ln 2 / a^2 ~ 277 patterns).
    n_patterns: int = 50
    # Recall cue: half the stored pattern's active cells (Rolls 2013's partial-cue protocol).
    cue_fraction: float = 0.5
    max_steps: int = 10
    seed: int = 0

    @property
    def active_per_pattern(self) -> int:
        return max(1, round(self.coding_level * self.n_cells))


def store_patterns(params: CA3Params, rng: np.random.Generator) -> np.ndarray:
    """``(P, N)`` binary patterns, each with exactly ``round(a N)`` active cells."""
    k = params.active_per_pattern
    order = rng.random((params.n_patterns, params.n_cells)).argsort(axis=1)[:, :k]
    patterns = np.zeros((params.n_patterns, params.n_cells), dtype=np.uint8)
    np.put_along_axis(patterns, order, 1, axis=1)
    return patterns


def clipped_hebbian_weights(patterns: np.ndarray) -> np.ndarray:
    """Willshaw 1969's binary weights: 1 where two cells were ever co-active, else 0."""
    # Float matmul goes through BLAS; integer matmul in numpy does not and is ~100x slower.
    counts = patterns.T.astype(np.float32) @ patterns.astype(np.float32)
    return (counts > 0.5).astype(np.uint8)


def partial_cues(patterns: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Each pattern with only ``round(fraction * k)`` of its ``k`` active cells kept on."""
    cues = np.zeros_like(patterns)
    for row, pattern in enumerate(patterns):
        active = np.flatnonzero(pattern)
        keep = rng.choice(active, size=max(1, round(fraction * active.size)), replace=False)
        cues[row, keep] = 1
    return cues


def recall(weights: np.ndarray, cues: np.ndarray, max_steps: int) -> np.ndarray:
    """Synchronous threshold dynamics from each cue (rows), threshold = number of active cells."""
    # Sums of 0/1 terms below 2^24 are exact in float32, so the >= comparison is exact.
    state = cues.astype(np.float32)
    w = weights.astype(np.float32)
    for _ in range(max_steps):
        dendritic = state @ w.T
        theta = state.sum(axis=1, keepdims=True)
        new = ((dendritic >= theta) & (theta > 0)).astype(np.float32)
        if np.array_equal(new, state):
            break
        state = new
    return state.astype(np.uint8)


def overlaps(recalled: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Pearson correlation of each recalled row with its stored pattern (0 where one is constant)."""
    x = recalled.astype(float) - recalled.mean(axis=1, keepdims=True)
    y = patterns.astype(float) - patterns.mean(axis=1, keepdims=True)
    norm = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    return np.divide((x * y).sum(axis=1), norm, out=np.zeros(len(x)), where=norm > 0)


@dataclass(frozen=True)
class CA3Recall:
    params: CA3Params
    overlaps: np.ndarray
    cue_overlaps: np.ndarray
    synapse_fraction: float

    @property
    def mean_overlap(self) -> float:
        return float(self.overlaps.mean())


def simulate_ca3(params: CA3Params = CA3Params(), shuffle_weights: bool = False) -> CA3Recall:
    """Store, cue and recall every pattern. ``shuffle_weights`` permutes the weight matrix's
    entries (same number of switched-on synapses, structure destroyed), the control that must fail."""
    rng = np.random.default_rng(params.seed)
    patterns = store_patterns(params, rng)
    weights = clipped_hebbian_weights(patterns)
    if shuffle_weights:
        weights = rng.permutation(weights.ravel()).reshape(weights.shape)
    cues = partial_cues(patterns, params.cue_fraction, rng)
    recalled = recall(weights, cues, params.max_steps)
    return CA3Recall(params, overlaps(recalled, patterns), overlaps(cues, patterns), float(weights.mean()))


def recall_curve(loads: tuple[int, ...], params: CA3Params = CA3Params()) -> np.ndarray:
    """Mean recall overlap at each number of stored patterns (the capacity curve of the report)."""
    return np.array([simulate_ca3(replace(params, n_patterns=p)).mean_overlap for p in loads])


def pattern_completion_gate(result: CA3Recall) -> Gate:
    p = result.params
    return Gate(
        name="ca3_pattern_completion",
        passed=bool(result.mean_overlap >= CA3_OVERLAP_THRESHOLD),
        measured=round(result.mean_overlap, 4),
        reference=CA3_OVERLAP_THRESHOLD,
        tolerance=">= reference",
        detail=(
            f"N={p.n_cells}, a={p.coding_level}, P={p.n_patterns}, cue {p.cue_fraction:.0%} of each "
            f"pattern (cue overlap {result.cue_overlaps.mean():.3f}); min recall overlap "
            f"{result.overlaps.min():.3f}; synapses on {result.synapse_fraction:.3f} "
            "(Willshaw 1969, Rolls 2013)"
        ),
    )
