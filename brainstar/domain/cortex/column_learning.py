"""Handwritten digits learned by the column's own synapses, read out by a fixed rule.

The task: sklearn's ``load_digits`` (8x8 images, 10 classes). Each pixel drives thalamic relay
cells (PD14's thalamus, :mod:`sources`) as Poisson spikes at a rate proportional to its
intensity; the thalamocortical synapses onto L4E are plastic (NEST semantics,
:mod:`synapse_rules`). During training an instructive input drives the tenth of L4E that stands
for the image's class (the teacher of Brader, Senn & Fusi 2007, Neural Comput 19:2881), so the
rule can tie pixels to classes; at test time there is no teacher.

The readout does not learn (Diehl & Cook 2015, Front Comput Neurosci 9:99): with plasticity
frozen, each L4E cell is assigned to the class it responds to most on average over training
images, and a held-out image is given the class whose assigned cells respond most on average.
The control is the same column, same initial weights and same readout, with plasticity off. A
logistic regression on the pixels is reported beside them as what a linear model gets.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from brainstar.domain.cortex import sources
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.engine_numba import ColumnSimulator, EngineRun
from brainstar.domain.cortex.network import ColumnNetwork, build_network
from brainstar.domain.cortex.plastic_network import PlasticProjection, make_plastic
from brainstar.domain.cortex.synapse_rules import StdpSynapseParams

N_CLASSES = 10
PROGRESS_EVERY = 50  # images between progress messages
N_PIXELS = 64
TEACHER = "TEACH"
READOUT = "L4E"


@dataclass(frozen=True)
class DigitTask:
    """Scale, stimulus, rule and protocol of the digit task (defaults: the pipeline's)."""

    n_scaling: float = 0.02
    k_scaling: float = 0.1
    # Eight relay cells per pixel at 4x PD14's thalamic in-degree: each L4E cell sees every pixel
    # through several synapses, so its response averages out the relays' Poisson noise. With two
    # relays per pixel at 1x, even class-mean weights gave a spike readout of 0.27 (seed 1).
    relay_cells: int = 512
    thalamic_k_scaling: float = 4.0
    # PD14's thalamic rate. Nearest-neighbour STDP potentiates only while the post rate is above
    # about half the pre rate (Izhikevich & Desai 2003), so much faster relays would depress
    # every lit pixel's synapse even onto a taught cell.
    pixel_rate_hz: float = 120.0
    # Drives the class's cells far above the relays' rate (potentiation) while the other cells
    # stay at a few Hz; 700 Hz learned less in the same images (0.59 vs 0.71, seed 1, 300 images).
    teacher_rate_hz: float = 1600.0
    teacher_cells_per_class: int = 20
    teacher_indegree: int = 60  # teacher synapses onto each L4E cell of its class
    present_ms: float = 250.0  # 100 ms carried too few spikes per cell to tell the classes apart
    rest_ms: float = 50.0
    # Every image is scaled to the same total intensity (by at most 2): otherwise the cells answer
    # to how much ink an image has more than to its shape (0 turns it off).
    equalise_cap: float = 2.0
    n_train: int = 1297
    epochs: int = 1
    n_assign: int = 300  # training images whose responses assign the readout cells
    n_test: int = 400
    n_validation: int = 100  # held-out images for the learning curve
    checkpoints: int = 2  # learning-curve points during training (plus the end)
    # Nearest-neighbour pairing (NEST stdp_nn_symm_synapse) turns STDP into a BCM-like rule
    # (Izhikevich & Desai 2003, Neural Comput 15:1511): a lit pixel's synapse grows onto a cell
    # firing fast (the taught class) and shrinks onto one firing slowly.
    rule: StdpSynapseParams = field(
        default_factory=lambda: StdpSynapseParams(
            tau_plus_ms=16.8, lambda_=0.006, alpha=0.5, mu_plus=0.0, mu_minus=0.0, pairing="nearest"
        )
    )
    # Each cell's incoming thalamic weights are rescaled to their starting total after every
    # image (synaptic scaling, Turrigiano 2008), so learning redistributes input, not inflates it.
    normalize: bool = True
    tau_minus_ms: float = 33.7
    # Room for a template: a cell's strongest pixels can reach 5x the mean drawn weight.
    w_max_ratio: float = 5.0
    # numba threads per seed. At N 0.02 one thread is faster than two (0.38 vs 0.56 s per image
    # on two cores: the column is too small to pay for a parallel region every step), so cores
    # go to seeds instead: ``processes`` seeds are trained at once, each in its own process.
    threads: int = 1
    processes: int = 1


@dataclass
class TaskColumn:
    """A column wired for the task: its simulator, readout cells and stimulus mapping."""

    network: ColumnNetwork
    simulator: ColumnSimulator
    readout: slice  # neuron ids of L4E
    group: np.ndarray  # (n_readout,) the class whose teacher drives each readout cell
    n_relay: int
    pixel_of: np.ndarray  # (n_relay,) pixel driving each relay cell


def build_task_column(task: DigitTask, seed: int, network: ColumnNetwork | None = None) -> TaskColumn:
    """PD14 column (``network``, or a new one for ``seed``) + thalamus + teacher, thalamocortical
    synapses plastic, warmed up 200 ms."""
    config = ColumnConfig(n_scaling=task.n_scaling, k_scaling=task.k_scaling, seed=seed, warmup_ms=0.0)
    network = build_network(config) if network is None else network
    network = sources.add_thalamus(
        network, config, seed, n_neurons=task.relay_cells, k_scaling=task.thalamic_k_scaling
    )
    names = list(network.populations)
    first, stop = int(network.offsets[names.index(READOUT)]), int(network.offsets[names.index(READOUT) + 1])
    rng = np.random.default_rng(seed + 100)
    group = rng.integers(0, N_CLASSES, stop - first)
    per_class = task.teacher_cells_per_class
    pre = np.concatenate([c * per_class + rng.integers(0, per_class, task.teacher_indegree) for c in group])
    post = np.repeat(np.arange(first, stop), task.teacher_indegree)
    relay = network.offsets[names.index(sources.THALAMUS)]
    weight = float(network.weights[network.indptr[relay]])  # the thalamic PSC, for the teacher too
    delay_steps = round(sources.TH_DELAY_MS / config.dt_ms)
    network = sources.add_sources(
        network, TEACHER, N_CLASSES * per_class, pre, post,
        np.full(pre.size, weight), np.full(pre.size, delay_steps),
    )  # fmt: skip
    network = make_plastic(
        network,
        (PlasticProjection(sources.THALAMUS, READOUT, task.rule, w_max_ratio=task.w_max_ratio),),
        tau_minus_ms=task.tau_minus_ms,
    )
    simulator = ColumnSimulator(network, EngineRun.of(config), threads=task.threads)
    simulator.advance(200.0)
    return TaskColumn(
        network=network,
        simulator=simulator,
        readout=slice(first, stop),
        group=group,
        n_relay=task.relay_cells,
        pixel_of=np.arange(task.relay_cells) % N_PIXELS,
    )


def present(column: TaskColumn, pixels: np.ndarray, task: DigitTask, label: int | None = None) -> np.ndarray:
    """Show one image (64 intensities in [0, 1]), with the teacher of ``label`` if given, then
    rest; returns the readout cells' spike counts during the presentation."""
    simulator = column.simulator
    rates = np.zeros(column.network.n_sources)
    rates[: column.n_relay] = pixels[column.pixel_of] * task.pixel_rate_hz
    if label is not None:
        first = column.n_relay + label * task.teacher_cells_per_class
        rates[first : first + task.teacher_cells_per_class] = task.teacher_rate_hz
    simulator.source_rate_hz = rates
    _, ids = simulator.advance(task.present_ms)
    simulator.source_rate_hz = np.zeros(column.network.n_sources)
    simulator.advance(task.rest_ms)
    start, stop = column.readout.start, column.readout.stop
    return np.bincount(ids[(ids >= start) & (ids < stop)] - start, minlength=stop - start)


def incoming_totals(column: TaskColumn) -> np.ndarray:
    """(N,) each neuron's summed incoming plastic weight now."""
    plastic = column.network.plastic
    return np.bincount(
        plastic.targets, weights=column.simulator.state.plastic[:, 0], minlength=column.network.n_neurons
    )


def rescale_incoming(column: TaskColumn, totals: np.ndarray) -> None:
    """Scale each neuron's incoming plastic weights back to ``totals`` (synaptic scaling)."""
    targets = column.network.plastic.targets
    weights = column.simulator.state.plastic[:, 0]
    now = np.bincount(targets, weights=weights, minlength=column.network.n_neurons)
    weights *= (totals / np.maximum(now, 1e-12))[targets]


def assign_cells(responses: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(n_cells,) the class each cell responds to most on average (Diehl & Cook's assignment)."""
    # A class absent from ``labels`` can claim no cell (its mean would be NaN, which argmax picks).
    means = np.full((N_CLASSES, responses.shape[1]), -np.inf)
    for c in range(N_CLASSES):
        if (labels == c).any():
            means[c] = responses[labels == c].mean(axis=0)
    return means.argmax(axis=0)


def vote(responses: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """(n_images,) the class whose assigned cells respond most on average (silent classes: 0)."""
    scores = np.zeros((responses.shape[0], N_CLASSES))
    for c in range(N_CLASSES):
        members = assignment == c
        if members.any():
            scores[:, c] = responses[:, members].mean(axis=1)
    return scores.argmax(axis=1)


def readout_accuracy(
    column: TaskColumn,
    images: np.ndarray,
    labels: np.ndarray,
    assign: np.ndarray,
    test: np.ndarray,
    task: DigitTask,
) -> float:
    """Accuracy of the fixed readout on ``test`` with cells assigned on ``assign`` (no learning:
    the readout runs on a frozen copy, so the column itself is left as it was)."""
    frozen = copy.deepcopy(column)
    frozen.simulator.freeze_plasticity()
    assign_responses = np.array([present(frozen, images[i], task) for i in assign])
    assignment = assign_cells(assign_responses, labels[assign])
    test_responses = np.array([present(frozen, images[i], task) for i in test])
    return float(np.mean(vote(test_responses, assignment) == labels[test]))


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    assign: np.ndarray  # a subset of train
    validation: np.ndarray
    test: np.ndarray


def split(n_images: int, task: DigitTask, seed: int) -> Split:
    order = np.random.default_rng(seed).permutation(n_images)
    test = order[: task.n_test]
    validation = order[task.n_test : task.n_test + task.n_validation]
    train = order[task.n_test + task.n_validation : task.n_test + task.n_validation + task.n_train]
    return Split(train=train, assign=train[: task.n_assign], validation=validation, test=test)


def equalise(images: np.ndarray, cap: float) -> np.ndarray:
    """Each image scaled to the dataset's mean total intensity, by at most ``cap``: a thin "1"
    and a heavy "8" then drive the thalamus with the same total rate, so a cell's response
    says how well the image matches its weights rather than how much ink the image has."""
    totals = images.sum(axis=1, keepdims=True)
    return images * np.minimum(totals.mean() / np.maximum(totals, 1e-12), cap)


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) intensities in [0, 1] and (1797,) labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target.astype(np.int64)


@dataclass
class SeedResult:
    seed: int
    accuracy: float
    control_accuracy: float
    pixel_accuracy: float
    curve: list[tuple[int, float]]  # (training images seen, validation accuracy)
    weights_before: np.ndarray
    weights_after: np.ndarray
    column: TaskColumn


def pixel_baseline(images: np.ndarray, labels: np.ndarray, parts: Split) -> float:
    """Held-out accuracy of a logistic regression on the raw pixels, same train/test images."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=2000).fit(images[parts.train], labels[parts.train])
    return float(model.score(images[parts.test], labels[parts.test]))


def run_seed(
    seed: int,
    task: DigitTask | None = None,
    network: ColumnNetwork | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeedResult:
    """Train one seed's column (``network``, or a new one), then score it, its plasticity-off twin
    and the pixel baseline; ``progress`` hears how far it got every 50 images."""
    say = progress or (lambda _: None)
    task = task or DigitTask()
    pixels, labels = load_digit_images()
    images = equalise(pixels, task.equalise_cap) if task.equalise_cap else pixels
    parts = split(len(labels), task, seed)
    column = build_task_column(task, seed, network)
    control = copy.deepcopy(column)  # same weights, never trained
    before = column.simulator.plastic_weights
    order = np.random.default_rng(seed + 1).permutation(np.tile(parts.train, task.epochs))
    marks = {round(len(order) * (k + 1) / (task.checkpoints + 1)) for k in range(task.checkpoints)}
    curve = [(0, readout_accuracy(column, images, labels, parts.assign, parts.validation, task))]
    totals = incoming_totals(column)
    for seen, index in enumerate(order, start=1):
        present(column, images[index], task, label=int(labels[index]))
        if task.normalize:
            rescale_incoming(column, totals)
        if seen % PROGRESS_EVERY == 0:
            say(f"seed {seed}: {seen}/{len(order)} images learned")
        if seen in marks:
            curve.append(
                (seen, readout_accuracy(column, images, labels, parts.assign, parts.validation, task))
            )
    if column.simulator.history_misses:
        raise RuntimeError(f"{column.simulator.history_misses} plastic updates lost post spikes")
    say(f"seed {seed}: scoring the trained column and its plasticity-off twin")
    accuracy = readout_accuracy(column, images, labels, parts.assign, parts.test, task)
    curve.append((len(order), readout_accuracy(column, images, labels, parts.assign, parts.validation, task)))
    return SeedResult(
        seed=seed,
        accuracy=accuracy,
        control_accuracy=readout_accuracy(control, images, labels, parts.assign, parts.test, task),
        pixel_accuracy=pixel_baseline(pixels, labels, parts),
        curve=curve,
        weights_before=before,
        weights_after=column.simulator.plastic_weights,
        column=column,
    )


def task_for(column: ColumnConfig, base: DigitTask | None = None) -> DigitTask:
    """The task on this column's scale and under its plasticity switches: no STDP means the
    thalamocortical synapses never change (the gate then fails, as it must); acetylcholine
    raises the learning rate (``neuromodulation``)."""
    from dataclasses import replace

    from brainstar.domain.cortex.neuromodulation import GAINS

    base = base or DigitTask()
    rate = (
        0.0
        if not column.plasticity.stdp
        else 1.0 + GAINS.ach_learning_boost * column.plasticity.acetylcholine
    )
    return replace(
        base,
        n_scaling=column.n_scaling,
        k_scaling=column.k_scaling,
        processes=column.threads,
        rule=replace(base.rule, lambda_=base.rule.lambda_ * rate),
    )


def sized(task: DigitTask, n_train: int, n_test: int) -> DigitTask:
    """The task on fewer images (what a pipeline run affords): a third of the training images
    assign the readout cells, a quarter as many validation images as test images, and the
    learning curve at its two ends only."""
    from dataclasses import replace

    n_assign, n_validation = max(n_train // 3, N_CLASSES), max(n_test // 4, N_CLASSES)
    available = load_digit_images()[1].size
    if min(n_train, n_test) < N_CLASSES or n_train + n_test + n_validation > available:
        raise ValueError(
            f"{n_train} training + {n_test} test + {n_validation} validation images: each split needs "
            f">= {N_CLASSES} and together at most the {available} digits"
        )
    return replace(
        task, n_train=n_train, n_test=n_test, n_assign=n_assign, n_validation=n_validation, checkpoints=0
    )


HISTOGRAM_BINS = 20


def _run_seeds(
    seeds: tuple[int, ...],
    task: DigitTask,
    network: ColumnNetwork | None,
    progress: Callable[[str], None] | None,
) -> list[SeedResult]:
    """The first seed here (``network``, ``progress``), the others in ``task.processes - 1``
    worker processes at the same time; a seed's result does not depend on where it ran."""
    workers = min(task.processes, len(seeds)) - 1
    if workers < 1:
        return [run_seed(seed, task, network if i == 0 else None, progress) for i, seed in enumerate(seeds)]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # spawn, not fork: the parent may already run numba's thread pool, which fork would copy locked.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        others = [pool.submit(run_seed, seed, task) for seed in seeds[1:]]
        first = run_seed(seeds[0], task, network, progress)
        return [first, *(other.result() for other in others)]


def evaluate(
    seeds: tuple[int, ...],
    task: DigitTask,
    network: ColumnNetwork | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict, SeedResult]:
    """Every seed trained and scored; the JSON-ready summary and the first seed's result (the
    column that is kept: ``network`` trained, when given; the other seeds build their own)."""
    results = _run_seeds(seeds, task, network, progress)
    first = results[0]
    w_max = first.column.network.plastic.table[0, 6]
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    summary = {
        "seeds": list(seeds),
        "trained_accuracy": [r.accuracy for r in results],
        "control_accuracy": [r.control_accuracy for r in results],
        "pixel_accuracy": [r.pixel_accuracy for r in results],
        "margin": [r.accuracy - r.control_accuracy for r in results],
        "curves": [r.curve for r in results],
        "weight_histogram": {
            "projection": first.column.network.plastic.projections[0],
            "edges": edges.tolist(),
            "before": np.histogram(first.weights_before / w_max, edges)[0].tolist(),
            "after": np.histogram(first.weights_after / w_max, edges)[0].tolist(),
        },
        "scale": {
            "n_scaling": task.n_scaling,
            "k_scaling": task.k_scaling,
            "neurons": first.column.network.n_neurons,
            "plastic_synapses": first.column.network.plastic.n_synapses,
        },
        "task": asdict(task),
    }
    return summary, first
