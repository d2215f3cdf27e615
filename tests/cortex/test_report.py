"""The HTML report embeds every plot and the gate table."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from brainstar.domain.cortex import gates, report


def test_report_embeds_figures_and_gate_rows() -> None:
    pops = ["A", "B"]
    offsets = np.array([0, 5, 10])
    times = np.linspace(0, 100, 50)
    senders = np.arange(50) % 10
    figures = [
        report._figure_html(report.raster(times, senders, offsets, pops), "raster"),
        report._figure_html(report.cv_histograms(pops, np.linspace(0.5, 1.2, 10), offsets), "cv"),
        report._figure_html(report.distal_reward_plot(np.linspace(0, 4, 10), np.ones(10), 4.0), "reward"),
    ]
    gate = gates.asynchrony_gate(pops, [0.001, 0.2], None)
    page = report.render("title", [asdict(gate)], figures, {"x": 1})
    assert page.count("data:image/png;base64,") == 3
    assert "FAIL" in page and "B: 0.2000" in page


def test_digit_learning_figures_render_from_the_training_summary() -> None:
    summary = {
        "seeds": [0, 1],
        "curves": [[(0, 0.1), (100, 0.4)], [(0, 0.12), (100, 0.5)]],
        "trained_accuracy": [0.45, 0.5],
        "control_accuracy": [0.2, 0.25],
        "pixel_accuracy": [0.96, 0.95],
        "weight_histogram": {
            "projection": "TC->L4E",
            "edges": np.linspace(0, 1, 5).tolist(),
            "before": [0, 10, 0, 0],
            "after": [4, 2, 1, 3],
        },
    }
    figures = [
        report._figure_html(report.digit_learning_curves(summary), "curves"),
        report._figure_html(report.weight_distributions(summary), "weights"),
    ]
    assert all("data:image/png;base64," in figure for figure in figures)
