"""Digits learned in the column's own synapses: held-out accuracy of the fixed readout, trained
vs plasticity off, beside a logistic regression on the pixels (the reference a linear model sets).

Each seed trains one column (``brainstar.domain.cortex.column_learning``, the default task:
N_scaling 0.02, one pass over 1,297 images) and scores it, its untrained twin and the pixel
model on the same 400 held-out images. The issue's gate is 0.85 and 20 points over the control.
"""

from __future__ import annotations

import time

from benchmarks.harness import Table

SEEDS = (0, 1, 2)


def run(seeds: tuple[int, ...] = SEEDS) -> Table:
    from brainstar.domain.cortex import column_learning

    task = column_learning.DigitTask()
    table = Table(
        f"cortex digits: column trained with {task.rule.pairing} STDP on TC->L4E, N_scaling {task.n_scaling}",
        ["seed", "trained", "plasticity off", "margin", "pixels (logistic)", "wall (s)"],
    )
    for seed in seeds:
        start = time.perf_counter()
        result = column_learning.run_seed(seed, task)
        table.add(
            seed,
            result.accuracy,
            result.control_accuracy,
            result.accuracy - result.control_accuracy,
            result.pixel_accuracy,
            time.perf_counter() - start,
        )
    table.notes.append("Learning curve per seed (images seen, validation accuracy) is in SeedResult.curve.")
    return table
