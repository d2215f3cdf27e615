"""Prediction from raw inputs with registry bundles: one spectrum file, one light-curve file, one Gaia row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainstar.domain.astro import ingest, inputs, models, photometry, readers, training


def spectrum(bundle: dict[str, Any], path: Path) -> dict[str, float]:
    """Teff (K), log g (cgs), [Fe/H] (dex) of one SDSS spec file."""
    rows = ingest.sdss_rows(path)
    values = models.Predictor(bundle).regress(inputs.spectral_x(pd.DataFrame(rows)))[0]
    return {name: float(v) for name, v in zip(bundle["targets"], values, strict=True)} | {
        "snr": rows[0]["snr"]
    }


def lightcurve(bundle: dict[str, Any], path: Path) -> dict[str, Any]:
    """Class, class probabilities and period (days; None when quiet) of one Kepler/TESS llc file."""
    row = ingest.lightcurve_row(readers.read_kepler_llc(path))
    frame = pd.DataFrame([row])
    classes, probs, choice = models.Predictor(bundle).classify(inputs.lc_x(frame))
    period = training.predicted_periods(frame, classes, choice)[0]
    return {
        "kepler_id": row["kepler_id"],
        "class": bundle["classes"][int(classes[0])],
        "probabilities": {name: float(p) for name, p in zip(bundle["classes"], probs[0], strict=True)},
        "period_days": None if not np.isfinite(period) else float(period),
        "bls_period_days": row["bls_period_days"],
        "ls_period_days": row["ls_period_days"],
    }


def sed(bundle: dict[str, Any], row: dict[str, float], cuts: photometry.GaiaCuts) -> dict[str, Any]:
    """Teff (K) from one gaia_source row (magnitudes, bp_rp, parallax in mas, parallax_over_error, ruwe)."""
    frame = pd.DataFrame([row])
    feats = photometry.sed_features(frame)
    if not np.isfinite(feats.to_numpy(dtype=float)).all():
        raise ValueError("photometry row gives non-finite features (parallax must be > 0)")
    teff = models.Predictor(bundle).regress(feats[list(photometry.SED_FEATURES)].to_numpy(dtype=float))[0, 0]
    return {"teff_k": float(teff), "passes_quality_cuts": bool(cuts.mask(frame)[0])}
