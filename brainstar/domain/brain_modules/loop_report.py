"""The loop's figure: how often the best arm was chosen during training (running mean) and on
held-out trials, with learning and without."""

from __future__ import annotations

from typing import Any

import numpy as np

from brainstar.core.figures import figure_png
from brainstar.domain.brain_modules.loop import BANDIT_MIN_BEST_ARM

RUNNING_TRIALS = 20  # window of the running best-arm fraction


def bandit_learning_png(summary: dict[str, Any]) -> bytes:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    best = summary["best_arm"]
    for n, entry in enumerate(summary["seeds"]):
        for name, style in (("learning", "-"), ("control", ":")):
            chosen = np.asarray(entry[name]["train_choices"]) == best
            window = min(RUNNING_TRIALS, chosen.size)
            running = np.convolve(chosen, np.ones(window) / window, mode="valid")
            left.plot(
                np.arange(window, chosen.size + 1), running, style, color=f"C{n}",
                label=f"seed {entry['seed']}, {name}",
            )  # fmt: skip
    left.axhline(summary["chance"], color="k", lw=1, ls="--", label="chance")
    left.set_xlabel("training trial")
    left.set_ylabel(f"best arm chosen ({RUNNING_TRIALS}-trial mean)")
    left.set_ylim(-0.02, 1.02)
    left.legend(fontsize=6)
    x = np.arange(len(summary["seeds"]))
    right.bar(x - 0.2, [s["learning"]["best_arm_test"] for s in summary["seeds"]], 0.4, label="learning")
    right.bar(x + 0.2, [s["control"]["best_arm_test"] for s in summary["seeds"]], 0.4, label="no learning")
    right.axhline(BANDIT_MIN_BEST_ARM, color="k", lw=1, ls=":")
    right.axhline(summary["chance"], color="k", lw=1, ls="--")
    right.set_xticks(x, [f"seed {s['seed']}" for s in summary["seeds"]])
    right.set_ylabel("best arm chosen, held-out trials")
    right.legend(fontsize=7)
    fig.tight_layout()
    try:
        return figure_png(fig)
    finally:
        plt.close(fig)
