"""The model reports' figures: predicted vs true, confusion matrix, folded light curves, spectrum, page."""

from __future__ import annotations

import base64
import collections
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from brainstar.core.figures import PNG_SIGNATURE, figure_png, png_data_uri
from brainstar.demo.astro import kepler
from brainstar.domain.astro import figures, inputs, periods, spectra, training

MAX_PNG_BYTES = 150_000


def _assert_small_png(png: bytes) -> None:
    from PIL import Image

    assert png.startswith(PNG_SIGNATURE)
    assert len(png) < MAX_PNG_BYTES
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.mode == "P"  # palette: what keeps the page small


def _regression_predictions(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    targets = list(inputs.SPECTRAL_TARGETS)
    truth = np.column_stack([rng.uniform(4000, 7000, n), rng.uniform(3.5, 5.0, n), rng.uniform(-2, 0.3, n)])
    predicted = truth + rng.normal(0.0, [80.0, 0.2, 0.1], (n, 3))
    test = pd.DataFrame({"source_id": np.arange(n) + 100}, index=np.arange(n) * 2)
    sigma = np.tile([80.0, 0.2, 0.1], (n, 1))
    return training.regression_predictions(test, targets, truth, predicted, sigma), targets


def _class_predictions(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, 40)
    predicted = np.where(rng.random(40) < 0.8, truth, rng.integers(0, 4, 40))
    probabilities = rng.dirichlet(np.ones(4), 40)
    period = np.where(truth == 3, np.nan, rng.uniform(1, 5, 40))
    test = pd.DataFrame({"source_id": np.arange(40), "file": [f"f{i}.fits" for i in range(40)]})
    return training.lightcurve_predictions(test, truth, predicted, probabilities, period, period * 1.001)


def test_regression_figure_has_two_panels_per_label_with_metrics_in_titles() -> None:
    predictions, targets = _regression_predictions()
    fig = figures.regression_figure(predictions, targets)
    assert len(fig.axes) == 2 * len(targets)
    metrics = figures.prediction_metrics(predictions, targets)
    titles = [ax.get_title() for ax in fig.axes[: len(targets)]]
    for title, target in zip(titles, targets, strict=True):
        assert (
            f"RMSE {metrics[f'{target}_rmse']:.3g}" in title
            and f"MAE {metrics[f'{target}_mae']:.3g}" in title
        )
    assert [ax.get_xlabel() for ax in fig.axes[len(targets) :]] == [
        "true Teff (K)",
        "true log g (dex)",
        "true [Fe/H] (dex)",
    ]
    assert all(ax.get_ylabel().startswith("residual") for ax in fig.axes[len(targets) :])
    _assert_small_png(figure_png(fig))


def test_confusion_matrix_counts_equal_the_predictions_counts() -> None:
    predictions = _class_predictions()
    counts = figures.confusion_counts(predictions["true_class"], predictions["pred_class"], inputs.LC_CLASSES)
    pairs = collections.Counter(zip(predictions["true_class"], predictions["pred_class"], strict=True))
    for i, true in enumerate(inputs.LC_CLASSES):
        for j, predicted in enumerate(inputs.LC_CLASSES):
            assert counts[i, j] == pairs[(true, predicted)]
    assert counts.sum() == len(predictions)
    fig = figures.confusion_figure(predictions)
    assert len(fig.axes) == 2
    counts_panel, shares_panel = fig.axes
    assert [t.get_text() for t in counts_panel.texts] == [str(v) for v in counts.ravel()]
    shares = [float(t.get_text()) for t in shares_panel.texts if t.get_text() != "-"]
    rows = counts.sum(axis=1)
    expected = (counts / rows[:, None])[rows > 0].ravel()
    np.testing.assert_allclose(shares, expected, atol=0.005)
    assert [t.get_text() for t in counts_panel.get_yticklabels()] == list(inputs.LC_CLASSES)
    _assert_small_png(figure_png(fig))


def test_fold_phase_is_in_unit_interval_and_periodic() -> None:
    time = np.linspace(0.0, 90.0, 4000)
    period, t0 = 3.7, 1.234
    phase = figures.fold_phase(time, period, t0)
    assert phase.min() >= 0.0 and phase.max() < 1.0
    np.testing.assert_allclose(figures.fold_phase(time + period, period, t0), phase, atol=1e-9)
    assert figures.fold_phase(np.array([t0]), period, t0)[0] == pytest.approx(0.5)


def test_dip_epoch_puts_a_box_transit_at_phase_one_half() -> None:
    rng = np.random.default_rng(2)
    time = np.sort(rng.uniform(0.0, 90.0, 4000))
    period, mid = 4.2, 2.9
    in_transit = np.abs(np.mod(time - mid + 0.5 * period, period) - 0.5 * period) < 0.08
    flux = 1.0 + rng.normal(0.0, 2e-4, time.size) - 5e-3 * in_transit
    phase = figures.fold_phase(time, period, figures.dip_epoch(time, flux, period))
    assert abs(np.median(phase[in_transit]) - 0.5) < 1.0 / figures.FOLD_BINS
    # Folded at the wrong period the transit cadences spread over the whole phase.
    wrong = figures.fold_phase(time, 1.37 * period, figures.dip_epoch(time, flux, 1.37 * period))
    assert np.std(wrong[in_transit]) > 0.2


def test_folded_curves_read_landed_files_and_fold_at_the_predicted_period(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    files, truth = {}, {}
    for kepler_id, kind in ((1234567, "transit"), (2345678, "quiet")):
        lc, truth[kind] = kepler.kepler_lightcurve(kepler_id, kind, rng)
        path = kepler.write_kepler_llc(tmp_path, lc)
        files[path.name] = path
    names = list(files)
    frame = pd.DataFrame({"bls_period_days": [np.nan, 2.5]}, index=[7, 8])
    predictions = pd.DataFrame(
        {
            "row": [7, 8],
            "source_id": [1234567, 2345678],
            "file": names,
            "true_class": ["transit", "quiet"],
            "pred_class": ["transit", "quiet"],
            "true_period_days": [truth["transit"]["period_days"], np.nan],
            "pred_period_days": [truth["transit"]["period_days"], np.nan],
        }
    )
    curves, notes = figures.folded_curves(predictions, frame, files)
    assert [c.true_class for c in curves] == ["transit", "quiet"]
    assert curves[0].period_days == truth["transit"]["period_days"] and curves[0].flux_kind == "detrended"
    assert curves[1].period_days == 2.5 and "BLS" in curves[1].period_note  # quiet: no period predicted
    assert notes == [
        "no eclipsing_binary light curve in the test set",
        "no pulsator light curve in the test set",
        "no rotation light curve in the test set",
    ]
    # The transit's folded bins are lowest at phase 0.5: folded at the right period, the dip lines up.
    transit = curves[0]
    phase = figures.fold_phase(transit.time, transit.period_days, transit.t0_days)
    assert phase.min() >= 0.0 and phase.max() < 1.0
    view = periods.folded_view(
        transit.time, transit.flux, transit.period_days, transit.t0_days, figures.FOLD_BINS
    )
    assert int(np.argmin(view)) in (figures.FOLD_BINS // 2 - 1, figures.FOLD_BINS // 2)
    assert view.min() < -5 * np.std(view[np.abs(np.arange(figures.FOLD_BINS) - figures.FOLD_BINS // 2) > 5])
    fig = figures.folded_lightcurve_figure(curves)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2 and all(ax.get_xlim() == (0.0, 1.0) for ax in visible)
    assert "P = " in visible[0].get_title()
    _assert_small_png(figure_png(fig))

    gone, missing = figures.folded_curves(predictions, frame, {names[1]: files[names[1]]})
    assert [c.true_class for c in gone] == ["quiet"] and any("no longer" in note for note in missing)


def test_spectrum_fit_is_the_mean_of_the_training_spectra_with_nearest_labels() -> None:
    n = 30
    teff = np.linspace(4000, 7000, n)
    labels = pd.DataFrame({"teff_k": teff, "logg_cgs": 4.4, "feh_dex": 0.0})
    # Each spectrum's flux encodes its row, so the mean tells which rows were used.
    labels["flux"] = [np.full(spectra.GRID_NPIX, float(i), dtype=np.float32) for i in range(n)]
    splits = np.where(np.arange(n) % 3 == 0, "test", "train")
    mean, used = figures.nearest_training_mean(
        labels, splits, np.array([5500.0, 4.4, 0.0]), figures.LABELS, k=4
    )
    expected = sorted(np.argsort(np.abs(np.where(splits == "train", teff, np.inf) - 5500.0))[:4])
    assert sorted(used) == expected
    np.testing.assert_allclose(mean, np.mean(expected))
    flux = 1.0 - 0.1 * np.exp(-0.5 * ((np.arange(spectra.GRID_NPIX) - 900) / 4.0) ** 2)
    fig = figures.spectrum_figure(flux, flux * 1.01, "a spectrum")
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "a spectrum"
    assert len(fig.axes[0].get_lines()) == 2  # the spectrum and the fit
    _assert_small_png(figure_png(fig))


def test_page_embeds_every_figure_and_lists_metrics_and_gates() -> None:
    predictions, targets = _regression_predictions()
    pngs = [
        figure_png(figures.regression_figure(predictions, targets)),
        figure_png(figures.confusion_figure(_class_predictions())),
    ]
    card = {
        "version": 3,
        "passed": False,
        "metrics": {"teff_k_rmse": 80.5},
        "baseline_metrics": {"teff_k_rmse": 200.0},
        "gates": [
            {
                "name": "floor:teff_k_rmse",
                "measured": 80.5,
                "reference": 150.0,
                "direction": "max",
                "passed": False,
            }
        ],
        "n_rows": {"train": 10, "val": 2, "test": 2},
        "label_source": {"sppParams.fits (plate-mjd-fiber)": 11, "ELODIE (SPECOBJ)": 1},
    }
    page = figures.model_report_html(
        "spectral", card, [("one", "first", pngs[0]), ("two", "second", pngs[1])]
    )
    assert page.count("<img ") == 2
    for png in pngs:
        assert png_data_uri(png) in page
    assert "80.5" in page and "floor:teff_k_rmse" in page and "FAIL" in page and "a gate failed" in page
    assert "sppParams.fits (plate-mjd-fiber): 11, ELODIE (SPECOBJ): 1" in page
    uris = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert [base64.b64decode(u) for u in uris] == pngs


def test_card_mismatch_is_detected() -> None:
    predictions, targets = _regression_predictions()
    drawn = figures.prediction_metrics(predictions, targets)
    assert figures.reproduces_card(drawn, drawn)
    assert not figures.reproduces_card({**drawn, "teff_k_rmse": drawn["teff_k_rmse"] + 1.0}, drawn)


@pytest.fixture(scope="module")
def sed_training() -> tuple[pd.DataFrame, np.ndarray, training.ModelResult]:
    """The SED model trained once on 300 demo stars with their true Teff (a few seconds on CPU)."""
    from brainstar.demo.astro import gaia
    from brainstar.demo.astro.stars import draw_stars
    from brainstar.domain.astro import photometry, split

    rng = np.random.default_rng(4)
    stars = draw_stars(np.random.default_rng(4), 300)
    rows = pd.DataFrame([gaia.gaia_row(star, rng) for star in stars])
    frame = pd.concat([rows[["source_id"]], photometry.sed_features(rows)], axis=1)
    frame["teff_k"] = [star.params.teff_k for star in stars]
    frame = frame[photometry.GaiaCuts().mask(rows)].reset_index(drop=True)
    splits = split.assign(frame["source_id"].to_numpy(), split.teff_strata(frame["teff_k"].to_numpy()))
    return frame, splits, training.train_sed(frame, splits, torch.device("cpu"))


def test_training_keeps_test_predictions_and_the_report_redraws_them(sed_training) -> None:
    frame, splits, result = sed_training
    kept = result.test_predictions
    assert len(kept) == result.n_rows["test"] and (splits[kept["row"]] == "test").all()
    # The kept predictions are the ones the card's metrics were computed on.
    assert figures.reproduces_card(result.metrics, figures.prediction_metrics(kept, ["teff_k"]))
    assert figures.prediction_metrics(kept, ["teff_k"])["teff_k_rmse"] == pytest.approx(
        result.metrics["teff_k_rmse"], rel=1e-9
    )
    # The report predicts the stored test split again with the stored model and gets the same rows.
    redrawn = figures.held_out_predictions("sed", frame, splits, result.bundle)
    pd.testing.assert_frame_equal(redrawn, kept)
    card = {**result.summary(), "version": 1}
    report = figures.build_model_report("sed", card, frame, splits, result.bundle)
    assert report.html.count("<img ") == 1 and png_data_uri(report.key_figure_png) in report.html
    assert "do not reproduce" not in report.html
    _assert_small_png(report.key_figure_png)
    stale = {**card, "metrics": {**card["metrics"], "teff_k_rmse": card["metrics"]["teff_k_rmse"] * 2}}
    assert "do not reproduce" in figures.build_model_report("sed", stale, frame, splits, result.bundle).html
