"""The cortex - basal ganglia - thalamus loop learning a multi-armed bandit.

The pieces are the platform's own: the PD14 column (numba engine), the Gurney, Prescott &
Redgrave (2001) basal ganglia, and a motor-thalamic relay added to the column as a spike source.

One trial (after Humphries, Stewart & Gurney 2006 for the loop, Frank 2005 for the learning):

1. *Cue.* Every relay channel fires at its base rate; the column runs ``cue_ms``. Each arm owns a
   third (``1/n_arms``) of L5E, the column's output layer; the channel's cortical drive is its
   L5E cells' rate relative to the column's own resting L5E rate, so the column's spiking noise
   is the loop's exploration.
2. *Gating.* Striatal salience of channel k = corticostriatal weight w_k x drive_k; the basal
   ganglia settle on those saliences at tonic dopamine; the more a channel's GPi/SNr output
   falls below its tonic level, the more its thalamic relay is released (base + gain x
   disinhibition). The relay projects topographically onto its channel's L5E cells, so the
   selected channel's cortex is driven harder for ``gated_ms`` (the loop's positive feedback).
3. *Choice.* Saliences from the gated cortex go through the basal ganglia again; the arm chosen
   is the channel whose GPi output is lowest, if it is below the selection threshold of the
   published circuit (90 % of tonic); no channel below it means no choice and no reward.
4. *Reward and dopamine.* Bernoulli reward with the arm's probability; dopamine carries the
   reward-prediction error delta = r - V, V the critic's expected reward of a trial (actor-critic,
   Barto 1995, Houk, Adams & Barto 1995: an arm better than average gives delta > 0 on average,
   a worse one delta < 0; a critic per arm would drive every delta to 0 on average); the chosen
   channel's corticostriatal weight changes by learning_rate x delta x drive (a three-factor
   rule: presynaptic cortex, postsynaptic striatum of the selected channel, dopamine;
   Reynolds & Wickens 2002). Weights stay in [0, w_max].

The corticostriatal synapses are rate-based, as the basal ganglia are; the column spikes. The
control is the same loop with learning_rate 0. Held-out trials run with learning frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from brainstar.core.gates import Gate
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.regions import basal_ganglia as bg

if TYPE_CHECKING:  # the engine compiles numba kernels: imported where a column is built
    from brainstar.domain.cortex.engine_numba import ColumnSimulator

RELAY = "MTh"  # motor thalamus (VA/VL), the basal ganglia's target
OUTPUT = "L5E"
# Gate on held-out trials, every seed: the best arm chosen on at least this fraction of trials
# (chance 1/n_arms), and this many points more often than by the same loop without learning.
BANDIT_MIN_BEST_ARM = 0.6
BANDIT_MIN_MARGIN = 0.25


@dataclass(frozen=True)
class LoopParams:
    """Bandit, column scale, relay, trial timing and learning (defaults: the pipeline's)."""

    reward_probabilities: tuple[float, ...] = (0.2, 0.5, 0.8)
    # The column's scale: the pipeline takes it from the catalogue's column entry.
    n_scaling: float = 0.02
    k_scaling: float = 0.1
    relay_cells_per_channel: int = 10
    relay_indegree: int = 20  # relay synapses onto each L5E cell of the relay's channel
    relay_base_hz: float = 10.0
    relay_gain_hz: float = 150.0  # added at full disinhibition (GPi output 0)
    cue_ms: float = 50.0
    gated_ms: float = 50.0
    rest_ms: float = 20.0
    warmup_ms: float = 300.0  # also measures the resting L5E rate
    bg_settle: float = 0.5  # basal-ganglia time per decision (GPR units: 12.5 time constants)
    tonic_dopamine: float = bg.DOPAMINE_DEFAULT
    basal_ganglia: bg.BasalGangliaParams = bg.GPR2001
    w_init: float = 0.5
    w_max: float = 1.5
    learning_rate: float = 0.05
    critic_rate: float = 0.2
    # The critic's expectation before the first trial: 0.5, the mean of an uninformed Bernoulli
    # prior. From 0 every early reward is a positive surprise and the arm chosen first is
    # reinforced whatever its probability (measured: seed 1 locked onto a 0.5 arm over a 0.8 one).
    critic_init: float = 0.5
    # 200 training trials: every seed of every order of the three arms then picks the best arm on
    # >= 60 % of held-out trials (measured; 120 left two of nine below).
    n_train: int = 200
    n_test: int = 60
    seeds: tuple[int, ...] = (0, 1, 2)
    threads: int = 1

    @property
    def n_arms(self) -> int:
        return len(self.reward_probabilities)

    @property
    def best_arm(self) -> int:
        return int(np.argmax(self.reward_probabilities))


@dataclass
class LoopColumn:
    simulator: ColumnSimulator
    channel_of: np.ndarray  # (n_neurons,) arm of each L5E cell, -1 elsewhere
    channel_sizes: np.ndarray  # (n_arms,) L5E cells per arm
    resting_hz: float  # L5E rate with the relay at base, measured in the warm-up
    tonic_gpi: float
    threshold: float


def build_loop_column(params: LoopParams, seed: int) -> LoopColumn:
    """The column with a motor-thalamic relay projecting channel by channel onto L5E, warmed up."""
    from brainstar.domain.cortex import sources
    from brainstar.domain.cortex.engine_numba import ColumnSimulator, EngineRun
    from brainstar.domain.cortex.network import build_network

    config = ColumnConfig(n_scaling=params.n_scaling, k_scaling=params.k_scaling, seed=seed, warmup_ms=0.0)
    network = build_network(config)
    first = int(network.offsets[network.populations.index(OUTPUT)])
    stop = int(network.offsets[network.populations.index(OUTPUT) + 1])
    channel = np.arange(stop - first) * params.n_arms // (stop - first)  # contiguous thirds
    rng = np.random.default_rng(seed + 7)
    per = params.relay_cells_per_channel
    pre = np.concatenate([c * per + rng.integers(0, per, params.relay_indegree) for c in channel])
    post = np.repeat(np.arange(first, stop), params.relay_indegree)
    # The PD14 thalamic synapse (PSP 0.15 mV, K-scaled weight, 1.5 ms delay) for the relay too.
    weight = sources.thalamic_weight_pa(config)
    delay = round(sources.TH_DELAY_MS / config.dt_ms)
    network = sources.add_sources(
        network, RELAY, params.n_arms * per, pre, post, np.full(pre.size, weight), np.full(pre.size, delay)
    )
    simulator = ColumnSimulator(network, EngineRun.of(config), threads=params.threads)
    channel_of = np.full(network.n_neurons, -1)
    channel_of[first:stop] = channel
    simulator.source_rate_hz = np.full(network.n_sources, params.relay_base_hz)
    simulator.advance(params.warmup_ms / 3)
    _, ids = simulator.advance(params.warmup_ms * 2 / 3)
    resting = np.count_nonzero((ids >= first) & (ids < stop)) / (stop - first) / (params.warmup_ms * 2 / 3e3)
    tonic = bg.tonic_gpi_output(params.n_arms)
    return LoopColumn(
        simulator=simulator,
        channel_of=channel_of,
        channel_sizes=np.bincount(channel, minlength=params.n_arms),
        resting_hz=max(resting, 0.1),
        tonic_gpi=tonic,
        threshold=bg.selection_threshold(params.n_arms),
    )


def _drive(column: LoopColumn, t_ms: float, relay_hz: np.ndarray, params: LoopParams) -> np.ndarray:
    """Run ``t_ms`` with each channel's relay at ``relay_hz``; each channel's L5E rate over the
    column's resting L5E rate."""
    per = params.relay_cells_per_channel
    column.simulator.source_rate_hz = np.repeat(relay_hz, per)
    _, ids = column.simulator.advance(t_ms)
    arms = column.channel_of[ids]
    counts = np.bincount(arms[arms >= 0], minlength=params.n_arms)
    return counts / column.channel_sizes / (t_ms * 1e-3) / column.resting_hz


def _gpi(saliences: np.ndarray, params: LoopParams) -> np.ndarray:
    result = bg.simulate(saliences[None, :], params.tonic_dopamine, params.basal_ganglia, params.bg_settle)
    return result.phase_gpi[0]


@dataclass(frozen=True)
class Trial:
    choice: int  # -1: no channel selected
    reward: float
    rpe: float
    weights: tuple[float, ...]


def run_trial(
    column: LoopColumn, weights: np.ndarray, critic: np.ndarray, params: LoopParams, rng: np.random.Generator,
    learning_rate: float,
) -> Trial:  # fmt: skip
    """One cue - gate - choose - reward trial; ``weights`` and ``critic`` (one value) change in place."""
    base = np.full(params.n_arms, params.relay_base_hz)
    cue = _drive(column, params.cue_ms, base, params)
    released = np.clip(
        (column.tonic_gpi - _gpi(np.clip(weights * cue, 0.0, 1.0), params)) / column.tonic_gpi, 0, 1
    )
    gated = _drive(column, params.gated_ms, base + params.relay_gain_hz * released, params)
    gpi = _gpi(np.clip(weights * gated, 0.0, 1.0), params)
    _drive(column, params.rest_ms, base, params)
    choice = int(np.argmin(gpi)) if gpi.min() < column.threshold else -1
    if choice < 0:
        return Trial(choice, 0.0, 0.0, tuple(weights))
    reward = float(rng.random() < params.reward_probabilities[choice])
    rpe = reward - critic[0]
    if learning_rate > 0:
        critic[0] += params.critic_rate * rpe
    weights[choice] = np.clip(weights[choice] + learning_rate * rpe * gated[choice], 0.0, params.w_max)
    return Trial(choice, reward, float(rpe), tuple(weights))


def run_seed(params: LoopParams, seed: int, learning: bool) -> tuple[list[Trial], np.ndarray]:
    """Train (``learning``) then test with learning frozen; the training trials and the test
    choices."""
    column = build_loop_column(params, seed)
    rng = np.random.default_rng(seed + 11)
    weights = np.full(params.n_arms, params.w_init)
    critic = np.full(1, params.critic_init)
    rate = params.learning_rate if learning else 0.0
    train = [run_trial(column, weights, critic, params, rng, rate) for _ in range(params.n_train)]
    test = [run_trial(column, weights, critic, params, rng, 0.0).choice for _ in range(params.n_test)]
    return train, np.array(test)


def evaluate(params: LoopParams, progress: Callable[[str], None] | None = None) -> dict:
    """Every seed with learning and its control; the JSON-ready summary. ``progress`` hears of
    each run as it starts."""
    say = progress or (lambda _: None)
    seeds = []
    for seed in params.seeds:
        entry: dict = {"seed": seed}
        for name, learning in (("learning", True), ("control", False)):
            say(f"seed {seed}, {name}: {params.n_train} training and {params.n_test} held-out trials")
            train, test = run_seed(params, seed, learning)
            choices = np.array([t.choice for t in train])
            entry[name] = {
                "best_arm_test": float(np.mean(test == params.best_arm)),
                "no_choice_test": float(np.mean(test < 0)),
                "test_choice_counts": np.bincount(test + 1, minlength=params.n_arms + 1).tolist(),
                "train_choices": choices.tolist(),
                "train_rewards": [t.reward for t in train],
                "final_weights": list(train[-1].weights),
            }
        seeds.append(entry)
    return {
        "seeds": seeds,
        "best_arm": params.best_arm,
        "chance": 1.0 / params.n_arms,
        "reward_probabilities": list(params.reward_probabilities),
        "scale": {"n_scaling": params.n_scaling, "k_scaling": params.k_scaling},
    }


def bandit_gate(summary: dict) -> Gate:
    learned = [s["learning"]["best_arm_test"] for s in summary["seeds"]]
    control = [s["control"]["best_arm_test"] for s in summary["seeds"]]
    bad = [
        f"seed {s['seed']}: {a:.2f} vs control {c:.2f}"
        for s, a, c in zip(summary["seeds"], learned, control, strict=True)
        if a < BANDIT_MIN_BEST_ARM or a - c < BANDIT_MIN_MARGIN
    ]
    return Gate(
        name="loop_learns_bandit",
        passed=len(learned) >= 3 and not bad,
        measured={"best_arm": [round(a, 3) for a in learned], "control": [round(c, 3) for c in control]},
        reference={
            "best_arm_min": BANDIT_MIN_BEST_ARM,
            "margin_min": BANDIT_MIN_MARGIN,
            "chance": summary["chance"],
        },
        tolerance=">= 3 seeds, each at least the minimum and the margin over its control",
        detail="; ".join(bad) if bad else "the loop learned the best arm on every seed",
    )
