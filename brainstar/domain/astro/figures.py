"""A model's report: figures from its held-out test predictions and one self-contained HTML page.

Regression models (spectral: Teff, log g, [Fe/H]; SED: Teff) get predicted against true per
label with the 1:1 line and the residuals below; the light-curve classifier gets its confusion
matrix (counts and row-normalised) and one phase-folded light curve per class at the period
the model recovered; the spectral model also gets one test spectrum beside the mean of the
training spectra whose labels are nearest its prediction (the model maps spectra to labels and
generates no spectrum, so that mean stands in for its fit).

Figures are matplotlib ``Figure`` objects drawn without pyplot and embedded as palette PNGs
(``brainstar.core.figures``, shared with the neuro QC report). matplotlib is imported inside
the drawing functions; the Dagster wiring imports this module only inside the asset body.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainstar.core.figures import figure_png, html_table, new_figure, png_data_uri
from brainstar.domain.astro import (
    evaluation,
    features,
    inputs,
    lightcurves,
    models,
    periods,
    readers,
    spectra,
    training,
)

# Display name and unit per regression target.
LABELS: dict[str, tuple[str, str]] = {
    "teff_k": ("Teff", "K"),
    "logg_cgs": ("log g", "dex"),
    "feh_dex": ("[Fe/H]", "dex"),
}
# Classes whose signal is a short dip, drawn from the detrended flux; the others vary on day scales
# that the 0.75-day biweight window would flatten, so they are drawn from the polynomial-normalised flux.
DIP_CLASSES = ("transit", "eclipsing_binary")
FOLD_BINS = 50
NEAREST_TRAINING_SPECTRA = 5
FOLDED_CAPTION = (
    "One test light curve per true class (its first by KIC id), read from its landed file and prepared "
    "as ingestion does, folded at the model's period with the lowest phase bin at 0.5; red: mean in "
    f"{FOLD_BINS} phase bins. Transits and eclipses use the detrended flux, the other classes the "
    "polynomial-normalised flux."
)


# --- predictions -------------------------------------------------------------------------


def split_labels(splits_path: Path, modality: str) -> np.ndarray:
    """The split name of every row of ``modality``'s feature table, in table order; shape (n,)."""
    table, _ = features.read_table(splits_path)
    return table.loc[table["modality"] == modality, "split"].to_numpy()


def held_out_predictions(
    modality: str, frame: pd.DataFrame, splits: np.ndarray, bundle: dict[str, Any]
) -> pd.DataFrame:
    """The test rows' truth and prediction by ``bundle``, as training keeps them in ``ModelResult``.

    The asset gets the registered model and its card, not the training's result, so the report
    predicts the stored test split again with the stored model (deterministic: an ensemble in eval
    mode); :func:`reproduces_card` tells whether these are the predictions the card was scored on.
    """
    test = frame[splits == "test"]
    predictor = models.Predictor(bundle)
    if modality == "lightcurve":
        classes, probabilities, choice = predictor.classify(inputs.lc_x(test))
        return training.lightcurve_predictions(
            test,
            inputs.lc_class_y(test),
            classes,
            probabilities,
            test["label_period"].to_numpy(dtype=np.float64),
            training.predicted_periods(test, classes, choice),
        )
    x_of, y_of = {"spectral": (inputs.spectral_x, inputs.spectral_y), "sed": (inputs.sed_x, inputs.sed_y)}[
        modality
    ]
    predicted, sigma = predictor.regress_with_sigma(x_of(test))
    return training.regression_predictions(test, bundle["targets"], y_of(test), predicted, sigma)


def prediction_metrics(predictions: pd.DataFrame, targets: Sequence[str] = ()) -> dict[str, float]:
    """The card's held-out metrics recomputed from a prediction table (regression if ``targets``)."""
    if targets:
        truth = predictions[[f"{t}_true" for t in targets]].to_numpy(dtype=np.float64)
        predicted = predictions[[f"{t}_pred" for t in targets]].to_numpy(dtype=np.float64)
        return evaluation.regression_metrics(truth, predicted, tuple(targets))
    return evaluation.classification_metrics(
        predictions["true_class"].to_numpy(),
        predictions["pred_class"].to_numpy(),
        predictions["true_period_days"].to_numpy(dtype=np.float64),
        predictions["pred_period_days"].to_numpy(dtype=np.float64),
    )


def reproduces_card(card_metrics: Mapping[str, float], drawn: Mapping[str, float]) -> bool:
    """Whether the metrics of the drawn predictions equal the card's (to float32 rounding)."""
    return all(
        math.isclose(float(card_metrics[name]), value, rel_tol=1e-5, abs_tol=1e-9)
        or (math.isnan(value) and math.isnan(float(card_metrics[name])))
        for name, value in drawn.items()
        if name in card_metrics
    )


# --- regression ----------------------------------------------------------------------------


def regression_figure(predictions: pd.DataFrame, targets: Sequence[str]) -> Any:
    """Per target: predicted against true with the 1:1 line (1-sigma bars where known), and the
    residual (predicted - true) against true below; RMSE and MAE in each column's title."""
    fig = new_figure(3.0 * len(targets) + 0.6, 5.2)
    axes = fig.subplots(2, len(targets), squeeze=False, sharex="col", height_ratios=[2, 1])
    for column, target in enumerate(targets):
        name, unit = LABELS.get(target, (target, ""))
        truth = predictions[f"{target}_true"].to_numpy(dtype=np.float64)
        predicted = predictions[f"{target}_pred"].to_numpy(dtype=np.float64)
        sigma = predictions.get(f"{target}_sigma")
        metrics = evaluation.regression_metrics(truth[:, None], predicted[:, None], (target,))
        top, bottom = axes[0, column], axes[1, column]
        if sigma is not None and np.isfinite(sigma).any():
            top.errorbar(truth, predicted, yerr=sigma, fmt="none", ecolor="#9bb", lw=0.6, zorder=1)
        top.scatter(truth, predicted, s=9, color="#1f5fa8", zorder=2)
        low, high = np.nanmin([truth.min(), predicted.min()]), np.nanmax([truth.max(), predicted.max()])
        top.plot([low, high], [low, high], "k--", lw=1, label="1:1")
        top.set_ylabel(f"predicted {name} ({unit})")
        top.set_title(
            f"{name}: RMSE {metrics[f'{target}_rmse']:.3g}, MAE {metrics[f'{target}_mae']:.3g} {unit}",
            fontsize=9,
        )
        top.legend(loc="upper left", fontsize=8)
        bottom.scatter(truth, predicted - truth, s=9, color="#1f5fa8")
        bottom.axhline(0.0, color="k", lw=1, ls="--")
        bottom.set_xlabel(f"true {name} ({unit})")
        bottom.set_ylabel(f"residual ({unit})")
    fig.suptitle(f"Held-out test set: {len(predictions)} rows", fontsize=10)
    return fig


# --- classification --------------------------------------------------------------------------


def confusion_counts(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Counts (k, k): row = true class, column = predicted class, in ``classes`` order."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(list(truth), list(predicted), labels=list(classes))


def confusion_figure(predictions: pd.DataFrame, classes: Sequence[str] = inputs.LC_CLASSES) -> Any:
    """The confusion matrix as counts and row-normalised (share of each true class), annotated."""
    counts = confusion_counts(predictions["true_class"], predictions["pred_class"], classes)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.full(counts.shape, np.nan), where=totals > 0)
    metrics = prediction_metrics(predictions)
    fig = new_figure(8.4, 4.0)
    axes = fig.subplots(1, 2)
    ticks = np.arange(len(classes))
    for ax, values, title, text in (
        (axes[0], counts, "counts", lambda v: f"{int(v)}"),
        (axes[1], shares, "row-normalised", lambda v: "-" if np.isnan(v) else f"{v:.2f}"),
    ):
        scaled = values / max(np.nanmax(values), 1e-12)
        ax.imshow(np.nan_to_num(scaled), cmap="Blues", vmin=0.0, vmax=1.0)
        for (i, j), value in np.ndenumerate(values):
            dark = not np.isnan(scaled[i, j]) and scaled[i, j] > 0.6
            ax.text(
                j, i, text(value), ha="center", va="center", color="white" if dark else "black", fontsize=9
            )
        ax.set_xticks(ticks, list(classes), rotation=30, ha="right", fontsize=8)
        ax.set_yticks(ticks, list(classes), fontsize=8)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(title, fontsize=9)
    fig.suptitle(
        f"{len(predictions)} test light curves: accuracy {metrics['accuracy']:.3f}, "
        f"macro-F1 {metrics['macro_f1']:.3f}, period within 2 % {metrics['period_recovery']:.2f}",
        fontsize=10,
    )
    return fig


@dataclass(frozen=True)
class FoldedCurve:
    """One prepared light curve and the period it is folded at; arrays (n_cadences,)."""

    true_class: str
    pred_class: str
    source_id: int
    time: np.ndarray  # days
    flux: np.ndarray  # relative flux, ~1 out of the signal
    flux_kind: str  # "detrended" or "normalised"
    period_days: float
    t0_days: float  # drawn at phase 0.5
    catalogue_period_days: float
    period_note: str  # where the period comes from


def fold_phase(time: np.ndarray, period: float, t0: float) -> np.ndarray:
    """Phase in [0, 1) with ``t0`` at 0.5 (as ``periods.folded_view`` bins it); shape of ``time``."""
    phase = np.mod(np.asarray(time, dtype=np.float64) - t0 + 0.5 * period, period) / period
    return np.where(phase >= 1.0, 0.0, phase)  # mod can round up to the period itself


def dip_epoch(time: np.ndarray, flux: np.ndarray, period: float, n_bins: int = FOLD_BINS) -> float:
    """A time of the lowest phase bin of the fold, so that the dip (or minimum) is drawn at phase 0.5."""
    view = periods.folded_view(time, flux, period, float(time[0]), n_bins)
    lowest = int(np.argmin(view))
    return float(time[0]) + ((lowest + 0.5) / n_bins - 0.5) * period


def folded_curves(
    predictions: pd.DataFrame, frame: pd.DataFrame, files: Mapping[str, Path]
) -> tuple[list[FoldedCurve], list[str]]:
    """One light curve per true class (its first test row by source id), read again from its landed
    file and prepared as ingestion did, folded at the predicted period. Also returns notes on classes
    without a test row or whose file is no longer landed."""
    curves, notes = [], []
    for cls in inputs.LC_CLASSES:
        rows = predictions[predictions["true_class"] == cls].sort_values("source_id")
        if rows.empty:
            notes.append(f"no {cls} light curve in the test set")
            continue
        row = rows.iloc[0]
        path = files.get(str(row["file"]))
        if path is None:
            notes.append(f"{cls}: {row['file']} is no longer in the landing zone")
            continue
        record = readers.read_lightcurve(path)
        prepared = lightcurves.prepare(record.time, record.flux, record.quality)
        kind = "detrended" if cls in DIP_CLASSES else "normalised"
        flux = prepared["flat" if kind == "detrended" else "norm"]
        period, note = float(row["pred_period_days"]), "predicted"
        if not np.isfinite(period):
            # Classified quiet: no period is predicted, so the strongest box of the search is shown.
            period, note = float(frame.loc[row["row"], "bls_period_days"]), "BLS peak, none predicted"
        curves.append(
            FoldedCurve(
                cls,
                str(row["pred_class"]),
                int(row["source_id"]),
                prepared["time"],
                flux,
                kind,
                period,
                dip_epoch(prepared["time"], flux, period),
                float(row["true_period_days"]),
                note,
            )
        )
    return curves, notes


def folded_lightcurve_figure(curves: Sequence[FoldedCurve]) -> Any:
    """One panel per curve: cadences against phase, and their mean in FOLD_BINS phase bins."""
    if not curves:
        raise ValueError("no light curve to fold")
    n_rows = math.ceil(len(curves) / 2)
    fig = new_figure(9.6, 3.0 * n_rows)
    axes = fig.subplots(n_rows, 2, squeeze=False).ravel()
    for ax, curve in zip(axes, curves, strict=False):
        phase = fold_phase(curve.time, curve.period_days, curve.t0_days)
        ax.scatter(phase, curve.flux, s=1.5, color="#888", rasterized=True)
        binned = periods.folded_view(curve.time, curve.flux, curve.period_days, curve.t0_days, FOLD_BINS)
        ax.plot((np.arange(FOLD_BINS) + 0.5) / FOLD_BINS, binned + 1.0, color="#c0392b", lw=1.5)
        catalogue = (
            f"catalogue {curve.catalogue_period_days:.4g} d"
            if np.isfinite(curve.catalogue_period_days)
            else "none in catalogue"
        )
        ax.set_title(
            f"KIC {curve.source_id}: true {curve.true_class}, predicted {curve.pred_class}\n"
            f"P = {curve.period_days:.4g} d ({curve.period_note}); {catalogue}",
            fontsize=8,
        )
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("phase")
        ax.set_ylabel(f"{curve.flux_kind} flux")
    for ax in axes[len(curves) :]:
        ax.set_visible(False)
    return fig


# --- spectrum --------------------------------------------------------------------------------


def typical_row(predictions: pd.DataFrame, target: str = "teff_k") -> int:
    """Position in ``predictions`` of the row whose |error| in ``target`` is nearest the median |error|."""
    error = np.abs(predictions[f"{target}_pred"] - predictions[f"{target}_true"]).to_numpy()
    return int(np.argmin(np.abs(error - np.median(error))))


def nearest_training_mean(
    frame: pd.DataFrame,
    splits: np.ndarray,
    labels: np.ndarray,
    targets: Sequence[str],
    k: int = NEAREST_TRAINING_SPECTRA,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean flux (GRID_NPIX,) of the ``k`` training spectra whose labels lie nearest ``labels`` (k,),
    distance in units of each label's training spread; also their row positions in ``frame``."""
    train = frame[splits == "train"]
    values = train[list(targets)].to_numpy(dtype=np.float64)
    spread = values.std(axis=0)
    distance = np.sqrt((((values - labels) / np.where(spread > 0, spread, 1.0)) ** 2).sum(axis=1))
    nearest = np.argsort(distance)[:k]
    return features.stack(train.iloc[nearest], "flux").mean(axis=0), train.index.to_numpy()[nearest]


def spectrum_figure(flux: np.ndarray, comparison: np.ndarray, title: str) -> Any:
    """A normalised spectrum on the rest-frame grid with the comparison spectrum, and their difference."""
    wavelength = 10.0 ** spectra.common_grid()
    fig = new_figure(8.4, 4.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    top.plot(wavelength, flux, color="#444", lw=0.6, label="test spectrum")
    top.plot(
        wavelength, comparison, color="#c0392b", lw=0.8, label="fit: training spectra nearest prediction"
    )
    top.set_ylabel("normalised flux")
    top.set_title(title, fontsize=9)
    top.legend(loc="lower right", fontsize=8)
    bottom.plot(wavelength, flux - comparison, color="#444", lw=0.6)
    bottom.axhline(0.0, color="k", lw=0.8, ls="--")
    bottom.set_xlabel("rest-frame wavelength (Angstrom)")
    bottom.set_ylabel("test - fit")
    return fig


def _spectrum_panel(
    predictions: pd.DataFrame, frame: pd.DataFrame, splits: np.ndarray, targets: Sequence[str]
) -> tuple[Any, str]:
    row = predictions.iloc[typical_row(predictions)]
    predicted = np.array([row[f"{t}_pred"] for t in targets], dtype=np.float64)
    comparison, used = nearest_training_mean(frame, splits, predicted, targets)

    def labels(kind: str) -> str:
        return ", ".join(f"{LABELS[t][0]} {row[f'{t}_{kind}']:.4g}" for t in targets)

    title = (
        f"specobjid {frame.loc[row['row'], 'specobjid']}: true {labels('true')}; predicted {labels('pred')}"
    )
    caption = (
        f"The test spectrum whose Teff error is nearest the median error (continuum-normalised, rest frame), "
        f"and in red the mean of the {len(used)} training spectra whose labels lie nearest the predicted "
        f"labels (distance in units of each label's training spread). The model maps spectra to labels and "
        f"generates no spectrum, so this mean stands in for its fit."
    )
    return spectrum_figure(frame.loc[row["row"], "flux"], comparison, title), caption


# --- the page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelReport:
    html: str
    key_figure_png: bytes  # predicted vs true (regression) or the confusion matrix (classifier)
    figure_sizes: dict[str, int]  # title -> PNG bytes


_STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:auto;padding:0 1em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
    "tr.fail td{background:#fdd}figure{margin:1em 0}figcaption{font-size:13px;color:#444}"
)


def model_report_html(
    modality: str,
    card: Mapping[str, Any],
    figures: Sequence[tuple[str, str, bytes]],
    notes: Sequence[str] = (),
) -> str:
    """One self-contained page: the card's metrics beside the baseline's, the gates, the domain check,
    then every figure inline (base64 PNG) with its caption."""
    metrics, baseline = card.get("metrics", {}), card.get("baseline_metrics", {})
    metric_rows = [
        [name, float(value), float(baseline.get(name, math.nan))] for name, value in metrics.items()
    ]
    gates = card.get("gates", [])
    gate_table = html_table(
        ["gate", "measured", "reference", "direction", "result"],
        [
            [
                g["name"],
                float(g["measured"]),
                float(g["reference"]),
                g["direction"],
                "pass" if g["passed"] else "FAIL",
            ]
            for g in gates
        ],
        ["pass" if g["passed"] else "fail" for g in gates],
    )
    domain = card.get("domain_check", {})
    domain_html = (
        f"<h2>Training-domain check on the test set</h2>"
        f"{html_table(['value', 'measured'], [[k, float(v)] for k, v in domain.items()])}"
        if domain
        else ""
    )
    figure_html = "".join(
        f"<h2>{html.escape(title)}</h2><figure><img alt='{html.escape(title)}' src='{png_data_uri(png)}'/>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for title, caption, png in figures
    )
    note_html = "".join(f"<p>{html.escape(note)}</p>" for note in notes)
    title = f"{modality} model, registry version {card.get('version', '?')}"
    verdict = "every gate passed" if card.get("passed") else "a gate failed: not promoted"
    n_rows = ", ".join(f"{k} {v}" for k, v in card.get("n_rows", {}).items())
    sources = (
        ", ".join(f"{source}: {n}" for source, n in card.get("label_source", {}).items()) or "not recorded"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p><b>{html.escape(verdict)}</b>; rows: {html.escape(n_rows)}; data version "
        f"{html.escape(str(card.get('data_version', '?')))}.</p>"
        f"<p>Labels learned from (training and validation rows): {html.escape(sources)}.</p>{note_html}"
        f"<h2>Held-out metrics</h2>{html_table(['metric', 'model', 'baseline'], metric_rows)}"
        f"<h2>Gates</h2>{gate_table}{domain_html}{figure_html}</body></html>"
    )


def build_model_report(
    modality: str,
    card: Mapping[str, Any],
    frame: pd.DataFrame,
    splits: np.ndarray,
    bundle: dict[str, Any],
    kepler_files: Mapping[str, Path] | None = None,
) -> ModelReport:
    """Every figure of ``modality``'s report from its feature table, split and trained bundle.

    ``kepler_files`` maps landed light-curve file names to paths (the folded light curves).
    """
    predictions = held_out_predictions(modality, frame, splits, bundle)
    targets = [] if modality == "lightcurve" else list(bundle["targets"])
    notes = []
    if not reproduces_card(card.get("metrics", {}), prediction_metrics(predictions, targets)):
        notes.append("The figures' predictions do not reproduce the card's metrics: the model was retrained?")
    if modality == "lightcurve":
        curves, missing = folded_curves(predictions, frame, kepler_files or {})
        notes += missing
        figures = [
            (
                "Confusion matrix",
                "Test light curves by true class (rows) and predicted class (columns): counts, and the share "
                "of each true class.",
                figure_png(confusion_figure(predictions)),
            )
        ]
        if curves:
            figures.append(
                (
                    "Folded light curves",
                    FOLDED_CAPTION,
                    figure_png(folded_lightcurve_figure(curves)),
                )
            )
    else:
        figures = [
            (
                "Predicted against true",
                "Held-out test rows: the model's prediction against the label (bars: calibrated 1-sigma), "
                "dashed the 1:1 line; below, the residual predicted - true.",
                figure_png(regression_figure(predictions, targets)),
            )
        ]
        if modality == "spectral":
            figure, caption = _spectrum_panel(predictions, frame, splits, targets)
            figures.append(("Spectrum and fit", caption, figure_png(figure)))
    return ModelReport(
        model_report_html(modality, card, figures, notes),
        figures[0][2],
        {title: len(png) for title, _, png in figures},
    )


def registered_model_report(
    modality: str,
    card: Mapping[str, Any],
    store_dir: Path,
    splits_path: Path,
    bundle: dict[str, Any],
    kepler_files: Mapping[str, Path] | None = None,
) -> ModelReport:
    """:func:`build_model_report` for the registry version ``card`` records (its ``bundle``,
    as :func:`brainstar.domain.astro.registry.load_version` returns it), on the stored split."""
    frame, _ = features.read_table(store_dir / f"{modality}.parquet")
    return build_model_report(
        modality, card, frame, split_labels(splits_path, modality), bundle, kepler_files
    )
