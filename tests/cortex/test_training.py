"""Digits with DA-STDP: the trained column beats the plasticity-off control."""

from __future__ import annotations

import numpy as np
import pytest

from brainstar.domain.cortex import training


def test_trained_column_beats_control_on_one_seed() -> None:
    result = training.train_and_evaluate(seed=0)
    assert result.trained_accuracy > result.control_accuracy + 0.05
    assert result.reward_rate_per_epoch[-1] > 0.2  # above the 10 % chance level of 10 classes
    assert np.all(result.weights >= 0)


def test_class_vote_sums_groups() -> None:
    counts = np.array([[0, 0, 5, 1, 0, 0], [3, 0, 0, 0, 1, 1]], float)
    np.testing.assert_array_equal(training.class_vote(counts, 2), [1, 0])


@pytest.mark.slow
def test_margin_over_three_seeds() -> None:
    result = training.evaluate_seeds((0, 1, 2))
    assert result["margin_min"] > 0.0
    assert result["margin_mean"] >= 0.05
