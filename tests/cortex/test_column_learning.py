"""The digit task's machinery: teacher and stimulus wiring, the fixed readout, the control."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from brainstar.domain.cortex import column_learning as learning
from brainstar.domain.cortex.config import ColumnConfig, PlasticityConfig

TINY = replace(learning.DigitTask(), n_train=24, n_assign=20, n_test=20, n_validation=10, checkpoints=1)


def test_assignment_and_vote_recover_a_known_tuning() -> None:
    """Cells tuned to one class each (plus noise): assigned to it, and the vote reads it back."""
    rng = np.random.default_rng(0)
    tuning = np.repeat(np.arange(learning.N_CLASSES), 5)  # 50 cells, 5 per class
    labels = rng.integers(0, learning.N_CLASSES, 300)
    responses = rng.poisson(1.0 + 4.0 * (tuning[None, :] == labels[:, None]))
    assignment = learning.assign_cells(responses[:200], labels[:200])
    np.testing.assert_array_equal(assignment, tuning)
    assert np.mean(learning.vote(responses[200:], assignment) == labels[200:]) > 0.95
    # A class with no assigning image claims no cell.
    without_nine = labels[:200] != 9
    assert 9 not in learning.assign_cells(responses[:200][without_nine], labels[:200][without_nine])
    # Untuned cells: the vote is at chance.
    flat = rng.poisson(3.0, responses.shape)
    assert (
        np.mean(learning.vote(flat[200:], learning.assign_cells(flat[:200], labels[:200])) == labels[200:])
        < 0.3
    )


@pytest.fixture(scope="module")
def column() -> learning.TaskColumn:
    return learning.build_task_column(TINY, seed=0)


def test_teacher_drives_only_its_class_and_the_stimulus_reaches_l4e(column) -> None:
    images, labels = learning.load_digit_images()
    index = int(np.flatnonzero(labels == 3)[0])
    taught = learning.present(column, images[index], TINY, label=3)
    untaught = learning.present(column, images[index], TINY)
    rate = 1000.0 / TINY.present_ms
    assert taught[column.group == 3].mean() * rate > 40.0  # the teacher's class fires hard
    assert taught[column.group != 3].mean() * rate < 15.0
    assert untaught[column.group == 3].mean() < taught[column.group == 3].mean() / 3
    blank = learning.present(column, np.zeros(learning.N_PIXELS), TINY)
    lit = learning.present(column, np.ones(learning.N_PIXELS), TINY)
    assert lit.sum() > 1.5 * blank.sum()


def test_readout_runs_on_a_frozen_copy_and_leaves_the_column_alone(column) -> None:
    images, labels = learning.load_digit_images()
    before = column.simulator.plastic_weights
    step = column.simulator.step
    learning.readout_accuracy(column, images, labels, np.arange(10), np.arange(10, 20), TINY)
    np.testing.assert_array_equal(column.simulator.plastic_weights, before)
    assert column.simulator.step == step


def test_training_moves_weights_keeps_each_cells_total_and_the_control_learns_nothing() -> None:
    messages: list[str] = []
    trained = learning.run_seed(1, TINY, progress=messages.append)
    assert messages == ["seed 1: scoring the trained column and its plasticity-off twin"]  # < 50 images
    plastic = trained.column.network.plastic
    assert not np.allclose(trained.weights_after, trained.weights_before)
    totals = [
        np.bincount(plastic.targets, weights=w) for w in (trained.weights_before, trained.weights_after)
    ]
    np.testing.assert_allclose(totals[1], totals[0], rtol=1e-9)
    assert [seen for seen, _ in trained.curve] == [0, 12, 24]
    assert 0.2 < trained.pixel_accuracy <= 1.0  # 24 training images: far above chance, not more
    off = learning.task_for(ColumnConfig(n_scaling=0.02, plasticity=PlasticityConfig(stdp=False)), TINY)
    assert off.rule.lambda_ == 0.0
    control = learning.run_seed(1, off)
    np.testing.assert_allclose(control.weights_after, control.weights_before, rtol=1e-12)


def _digit_summary(trained: list[float], control: list[float]) -> dict:
    return {
        "seeds": list(range(len(trained))),
        "trained_accuracy": trained,
        "control_accuracy": control,
        "pixel_accuracy": [0.96] * len(trained),
        "scale": {"n_scaling": 0.02},
    }


def test_digit_gate_passes_only_with_accuracy_margin_and_three_seeds() -> None:
    from brainstar.domain.cortex.gates import digit_task_gate

    assert digit_task_gate(_digit_summary([0.9, 0.88, 0.86], [0.3, 0.4, 0.5])).passed
    too_low = digit_task_gate(_digit_summary([0.9, 0.84, 0.86], [0.3, 0.4, 0.5]))
    assert not too_low.passed and "seed 1: 0.840" in too_low.detail
    small_margin = digit_task_gate(_digit_summary([0.9, 0.88, 0.86], [0.3, 0.4, 0.7]))
    assert not small_margin.passed and "seed 2" in small_margin.detail
    two_seeds = digit_task_gate(_digit_summary([0.9, 0.88], [0.3, 0.4]))
    assert not two_seeds.passed and "2 seed(s)" in two_seeds.detail


def test_sized_protocol_fits_the_digits_and_refuses_what_does_not() -> None:
    task = learning.sized(learning.DigitTask(), n_train=300, n_test=200)
    assert (task.n_train, task.n_test, task.n_assign, task.n_validation, task.checkpoints) == (
        300,
        200,
        100,
        50,
        0,
    )
    parts = learning.split(1797, task, seed=0)
    assert len(parts.train) == 300 and len(np.intersect1d(parts.train, parts.test)) == 0
    with pytest.raises(ValueError, match="at most the 1797"):
        learning.sized(learning.DigitTask(), n_train=1500, n_test=400)


def test_equalise_gives_every_image_the_mean_total_within_the_cap() -> None:
    images = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1], [0.1, 0, 0, 0]])
    mean_total = images.sum(axis=1).mean()  # 1.775
    equalised = learning.equalise(images, cap=2.0)
    np.testing.assert_allclose(equalised[:3].sum(axis=1), mean_total)
    np.testing.assert_allclose(equalised[3], 2.0 * images[3])  # faint image: raised by the cap only
    np.testing.assert_array_equal(equalised > 0, images > 0)  # shapes untouched


def test_seeds_trained_in_worker_processes_score_as_they_do_here() -> None:
    tiny = replace(TINY, n_train=4, n_assign=4, n_test=4, n_validation=4, checkpoints=0)
    here, _ = learning.evaluate((0, 1), tiny)
    apart, kept = learning.evaluate((0, 1), replace(tiny, processes=2))
    for key in ("trained_accuracy", "control_accuracy", "curves", "weight_histogram"):
        assert apart[key] == here[key], key
    assert kept.seed == 0
