"""Prediction from raw inputs with registry bundles: one spectrum file, one light-curve file, one Gaia row.

Every answer carries ``in_domain``, ``out_of_domain_reasons`` (empty when in domain) and an
``uncertainty`` (regression: calibrated 1-sigma per label; classification: probability-based);
an out-of-domain answer is still returned, flagged (see :mod:`brainstar.domain.astro.domain_check`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainstar.domain.astro import ingest, inputs, models, photometry, readers, training


def _number(value: float) -> float | None:
    """JSON has no NaN: an unknown value (a bundle without calibration) is null."""
    return float(value) if np.isfinite(value) else None


def _flags(reasons: list[str]) -> dict[str, Any]:
    return {"in_domain": not reasons, "out_of_domain_reasons": reasons}


def _regression_answer(bundle: dict[str, Any], x: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Values, 1-sigma uncertainty and domain flags for the single input row ``x`` (1, d)."""
    predictor = models.Predictor(bundle)
    values, sigma = predictor.regress_with_sigma(x)
    reasons = predictor.out_of_domain_reasons(x, {name: values[:, i] for i, name in enumerate(names)})[0]
    return {
        **{name: float(v) for name, v in zip(names, values[0], strict=True)},
        "uncertainty": {name: _number(s) for name, s in zip(names, sigma[0], strict=True)},
        **_flags(reasons),
    }


def spectrum(bundle: dict[str, Any], path: Path) -> dict[str, Any]:
    """Teff (K), log g (cgs), [Fe/H] (dex) of one SDSS spec file, with 1-sigma uncertainties, the
    file's median ``wdisp`` and ``caveats`` (an assumed or too low resolution, as ingestion notes it)."""
    found = ingest.sdss_file_rows(path)
    rows = found.rows
    answer = _regression_answer(bundle, inputs.spectral_x(pd.DataFrame(rows)), list(bundle["targets"]))
    return answer | {"snr": rows[0]["snr"], "wdisp": rows[0]["wdisp"], "caveats": list(found.notes)}


def lightcurve(bundle: dict[str, Any], path: Path) -> dict[str, Any]:
    """Class, class probabilities and period (days; None when quiet) of one Kepler/TESS llc file."""
    row = ingest.lightcurve_row(readers.read_kepler_llc(path))
    frame = pd.DataFrame([row])
    x = inputs.lc_x(frame)
    predictor = models.Predictor(bundle)
    classes, probs, choice = predictor.classify(x)
    period = training.predicted_periods(frame, classes, choice)
    uncertainty = models.classification_uncertainty(predictor.member_probabilities(x)[0])
    return {
        "kepler_id": row["kepler_id"],
        "class": bundle["classes"][int(classes[0])],
        "probabilities": {name: float(p) for name, p in zip(bundle["classes"], probs[0], strict=True)},
        "period_days": None if not np.isfinite(period[0]) else float(period[0]),
        "bls_period_days": row["bls_period_days"],
        "ls_period_days": row["ls_period_days"],
        "uncertainty": {name: float(values[0]) for name, values in uncertainty.items()},
        **_flags(predictor.out_of_domain_reasons(x, {"period_days": period})[0]),
    }


def sed(bundle: dict[str, Any], row: dict[str, Any], cuts: photometry.GaiaCuts) -> dict[str, Any]:
    """Teff (K) of one gaia_source row, what was applied to it, and whether it passes ``cuts``.

    With a parallax: the SED model on magnitudes, colours and the zero-point corrected parallax.
    Without one (a 2-parameter solution): the colour-only relation the bundle carries
    (photometry.fit_colour_teff), with ``solution`` saying so and its RMS as ``teff_scatter_k``.
    Missing values (RUWE, extinction, zero-point inputs) stay None in the answer, with the reason.
    """
    frame = pd.DataFrame([row])
    feats = photometry.sed_features(frame)
    record = photometry.quality(frame).iloc[0]
    dereddened = bool(feats["dereddened"].iloc[0])
    caveats = (
        [] if dereddened else ["not dereddened (no ag_gspphot and ebpminrp_gspphot): colours are reddened"]
    )
    answer: dict[str, Any] = {
        "astrometric_solution": record["solution"],
        "passes_quality_cuts": bool(cuts.mask(frame)[0]),
        "quality_cuts_failed": cuts.reasons(frame)[0],
        "ruwe": _number(photometry.column(frame, "ruwe")[0]),
        "parallax_zero_point_mas": _number(record["parallax_zpt_mas"]),
        "parallax_zero_point": record["parallax_zpt_note"],
        "dereddened": dereddened,
        "a_g_mag": _number(record["a_g_mag"]),
        "e_bp_rp_mag": _number(record["e_bp_rp_mag"]),
        "flux_excess_c_star": _number(record["c_star"]),
        "flux_excess_sigma": _number(record["c_star_sigma"]),
    }
    if not np.isfinite(photometry.column(frame, "parallax")[0]):
        relation = bundle.get("colour_teff")
        if relation is None:
            raise ValueError(
                "row has no parallax (2-parameter solution) and this sed model version has no "
                "colour-only relation"
            )
        if not np.isfinite(feats["bp_rp"].iloc[0]):
            raise ValueError("row has no parallax and no BP-RP colour: nothing to answer from")
        teff = photometry.colour_only_teff(relation, feats)
        colour, (low, high) = float(feats["bp_rp"].iloc[0]), (relation["colour_min"], relation["colour_max"])
        # The relation's domain is its fitted colour range; its RMS is the uncertainty.
        beyond = (
            []
            if low <= colour <= high
            else [f"bp_rp {colour:.3g} outside training range [{low:.3g}, {high:.3g}]: extrapolated"]
        )
        return answer | {
            "teff_k": float(teff[0]),
            "teff_scatter_k": relation["rms_k"],
            "solution": photometry.COLOUR_ONLY,
            "caveats": caveats,
            "uncertainty": {"teff_k": _number(relation["rms_k"])},
            **_flags(beyond),
        }
    if record["parallax_zpt_note"] != photometry.ZPT_APPLIED:
        caveats.append(f"parallax zero-point {record['parallax_zpt_note']}: catalogue parallax used")
    x = feats[list(photometry.SED_FEATURES)].to_numpy(dtype=float)
    if not np.isfinite(x).all():
        missing = [name for name, v in zip(photometry.SED_FEATURES, x[0], strict=True) if not np.isfinite(v)]
        raise ValueError(f"photometry row gives non-finite {', '.join(missing)} (parallax must be > 0)")
    model_answer = _regression_answer(bundle, x, ["teff_k"])
    return answer | model_answer | {"solution": "colours and parallax", "caveats": caveats}
