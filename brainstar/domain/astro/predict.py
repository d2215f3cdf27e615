"""Prediction from raw inputs with registry bundles: one spectrum file, one light-curve file, Gaia rows.

Every answer carries ``in_domain``, ``out_of_domain_reasons`` (empty when in domain) and an
``uncertainty`` (regression: calibrated 1-sigma per label; classification: probability-based);
an answer that extrapolates a little is still returned, flagged (see
:mod:`brainstar.domain.astro.domain_check`). One that is no answer at all is refused with
:class:`ModelOutputError`: a non-finite output, or a value beyond :data:`PHYSICAL_LIMITS` or more
than :data:`DOMAIN_MARGIN` training-range widths beyond the training labels.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainstar.domain.astro import ingest, inputs, models, photometry, readers, training

# What a star can be, whatever the model: the coolest M/L dwarfs Gaia measures are ~2000 K and the
# hottest O stars ~50,000 K; log g from supergiants (~ -0.5) to white dwarfs (~9); [Fe/H] from the
# most iron-poor star known (SMSS J0313-6708, < -7.1; Keller et al. 2014) to the most metal-rich
# (~ +1). A value beyond these is a failure of the model on this input, not a star.
PHYSICAL_LIMITS = {"teff_k": (2000.0, 50000.0), "logg_cgs": (-1.0, 9.5), "feh_dex": (-7.5, 1.5)}
# Refuse beyond two training-range widths outside the training labels. Closer, the in_domain flag
# marks the extrapolation and the answer stands (a star a little hotter than any trained on);
# further, the net extends its last linear pieces through a region without a single training
# star, which is no longer a prediction.
DOMAIN_MARGIN = 2.0
_PREDICTORS_KEPT = 8


class ModelOutputError(ValueError):
    """The model's output for this input is not an answer: non-finite or far outside its domain."""


_predictors: dict[int, tuple[dict[str, Any], models.Predictor]] = {}
_predictors_lock = threading.Lock()  # the API predicts from several threads


def _predictor(bundle: dict[str, Any]) -> models.Predictor:
    """One Predictor per bundle object, for bundles not changed once used (registry bundles never
    are): building one builds every member network (~5 ms), which per request was a fifth of a
    photometry answer. The entry holds the bundle, so its id is not reused while it is kept."""
    with _predictors_lock:
        found = _predictors.get(id(bundle))
        if found is not None and found[0] is bundle:
            return found[1]
        if len(_predictors) >= _PREDICTORS_KEPT:
            _predictors.pop(next(iter(_predictors)))
        predictor = models.Predictor(bundle)
        _predictors[id(bundle)] = (bundle, predictor)
        return predictor


def _number(value: float) -> float | None:
    """JSON has no NaN: an unknown value (a bundle without calibration) is null."""
    return float(value) if np.isfinite(value) else None


def _flags(reasons: list[str]) -> dict[str, Any]:
    return {"in_domain": not reasons, "out_of_domain_reasons": reasons}


def refuse_absurd(values: dict[str, float], ranges: dict[str, list[float]]) -> None:
    """Raise ModelOutputError naming the first value that is non-finite or outside the model's domain:
    PHYSICAL_LIMITS intersected with the training ``ranges`` widened by DOMAIN_MARGIN widths."""
    for name, value in values.items():
        if not np.isfinite(value):
            raise ModelOutputError(f"{name}: model output not finite for this input")
        low, high = PHYSICAL_LIMITS.get(name, (-np.inf, np.inf))
        if name in ranges:
            trained_low, trained_high = ranges[name]
            margin = DOMAIN_MARGIN * (trained_high - trained_low)
            low, high = max(low, trained_low - margin), min(high, trained_high + margin)
        if not low <= value <= high:
            raise ModelOutputError(
                f"{name} {value:.4g} outside the model's domain [{low:.4g}, {high:.4g}] for this input"
            )


def _regression_answers(predictor: models.Predictor, x: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Per row of ``x`` (n, d): values, 1-sigma uncertainty and domain flags."""
    values, sigma = predictor.regress_with_sigma(x)
    reasons = predictor.out_of_domain_reasons(x, {name: values[:, i] for i, name in enumerate(names)})
    return [
        {
            **{name: float(v) for name, v in zip(names, values[i], strict=True)},
            "uncertainty": {name: _number(s) for name, s in zip(names, sigma[i], strict=True)},
            **_flags(reasons[i]),
        }
        for i in range(len(x))
    ]


def spectrum(bundle: dict[str, Any], path: Path) -> dict[str, Any]:
    """Teff (K), log g (cgs), [Fe/H] (dex) of one SDSS spec file, with 1-sigma uncertainties, the
    file's median ``wdisp`` and ``caveats`` (an assumed or too low resolution, as ingestion notes it)."""
    found = ingest.sdss_file_rows(path)
    rows = found.rows
    predictor = _predictor(bundle)
    names = list(bundle["targets"])
    answer = _regression_answers(predictor, inputs.spectral_x(pd.DataFrame(rows)), names)[0]
    refuse_absurd({name: answer[name] for name in names}, predictor.label_ranges())
    return answer | {
        "snr": _number(rows[0]["snr"]),
        "wdisp": _number(rows[0]["wdisp"]),
        "caveats": list(found.notes),
    }


def lightcurve(bundle: dict[str, Any], path: Path) -> dict[str, Any]:
    """Class, class probabilities and period (days; None when quiet) of one Kepler/TESS llc file."""
    row = ingest.lightcurve_row(readers.read_kepler_llc(path))
    frame = pd.DataFrame([row])
    x = inputs.lc_x(frame)
    predictor = _predictor(bundle)
    classes, probs, choice = predictor.classify(x)
    refuse_absurd({f"probability of {c}": p for c, p in zip(bundle["classes"], probs[0], strict=True)}, {})
    period = training.predicted_periods(frame, classes, choice)
    uncertainty = models.classification_uncertainty(predictor.member_probabilities(x)[0])
    return {
        "kepler_id": row["kepler_id"],
        "class": bundle["classes"][int(classes[0])],
        "probabilities": {name: float(p) for name, p in zip(bundle["classes"], probs[0], strict=True)},
        "period_days": _number(period[0]),
        "bls_period_days": _number(row["bls_period_days"]),
        "ls_period_days": _number(row["ls_period_days"]),
        "uncertainty": {name: _number(values[0]) for name, values in uncertainty.items()},
        **_flags(predictor.out_of_domain_reasons(x, {"period_days": period})[0]),
    }


def sed(bundle: dict[str, Any], row: dict[str, Any], cuts: photometry.GaiaCuts) -> dict[str, Any]:
    """Teff (K) of one gaia_source row, what was applied to it, and whether it passes ``cuts``.

    With a parallax: the SED model on magnitudes, colours and the zero-point corrected parallax.
    Without one (a 2-parameter solution): the colour-only relation the bundle carries
    (photometry.fit_colour_teff), with ``solution`` saying so and its RMS as ``teff_scatter_k``.
    Missing values (RUWE, extinction, zero-point inputs) stay None in the answer, with the reason.
    Raises ValueError (ModelOutputError for an output that is no answer) naming the problem.
    """
    answer = sed_rows(bundle, [row], cuts)[0]
    if isinstance(answer, ValueError):
        raise answer
    return answer


def sed_rows(
    bundle: dict[str, Any], rows: list[dict[str, Any]], cuts: photometry.GaiaCuts
) -> list[dict[str, Any] | ValueError]:
    """:func:`sed` for many rows at once, in order: per row its answer, or the ValueError :func:`sed`
    raises for it. The corrections, cuts and model run once over all rows (column by column), which
    is what makes a batch of 64 rows cost about what one row costs (pandas overhead, not arithmetic)."""
    frame = pd.DataFrame(rows)
    feats = photometry.sed_features(frame)
    record = photometry.quality(frame)
    passes, failed = cuts.mask(frame), cuts.reasons(frame)
    ruwe = photometry.column(frame, "ruwe")
    with_parallax = np.isfinite(photometry.column(frame, "parallax"))
    x = feats[list(photometry.SED_FEATURES)].to_numpy(dtype=float)
    modelled = with_parallax & np.isfinite(x).all(axis=1)
    predictor = _predictor(bundle)
    ranges = predictor.label_ranges()
    model_answers = iter(_regression_answers(predictor, x[modelled], ["teff_k"]) if modelled.any() else [])
    relation = bundle.get("colour_teff")
    colour_teff = (
        photometry.colour_only_teff(relation, feats)
        if relation is not None and not with_parallax.all()
        else None
    )
    # Plain Python values per row: pandas' per-cell .iloc cost more than the model (0.3 ms a row).
    records = record.to_dict("records")
    all_dereddened, colours = feats["dereddened"].to_numpy(dtype=bool), feats["bp_rp"].to_numpy(dtype=float)
    out: list[dict[str, Any] | ValueError] = []
    for i, quality in enumerate(records):
        dereddened = bool(all_dereddened[i])
        caveats = (
            []
            if dereddened
            else ["not dereddened (no ag_gspphot and ebpminrp_gspphot): colours are reddened"]
        )
        answer: dict[str, Any] = {
            "astrometric_solution": quality["solution"],
            "passes_quality_cuts": bool(passes[i]),
            "quality_cuts_failed": failed[i],
            "ruwe": _number(ruwe[i]),
            "parallax_zero_point_mas": _number(quality["parallax_zpt_mas"]),
            "parallax_zero_point": quality["parallax_zpt_note"],
            "dereddened": dereddened,
            "a_g_mag": _number(quality["a_g_mag"]),
            "e_bp_rp_mag": _number(quality["e_bp_rp_mag"]),
            "flux_excess_c_star": _number(quality["c_star"]),
            "flux_excess_sigma": _number(quality["c_star_sigma"]),
        }
        try:
            if not with_parallax[i]:
                teff = None if colour_teff is None else float(colour_teff[i])
                result = _colour_only(relation, teff, float(colours[i]), caveats)
            elif not modelled[i]:
                missing = [
                    name for name, v in zip(photometry.SED_FEATURES, x[i], strict=True) if not np.isfinite(v)
                ]
                raise ValueError(
                    f"photometry row gives non-finite {', '.join(missing)} (parallax must be > 0)"
                )
            else:
                note = quality["parallax_zpt_note"]
                if note != photometry.ZPT_APPLIED:
                    caveats.append(f"parallax zero-point {note}: catalogue parallax used")
                result = next(model_answers) | {"solution": "colours and parallax", "caveats": caveats}
            refuse_absurd({"teff_k": result["teff_k"]}, ranges)
        except ValueError as error:
            out.append(error)
            continue
        out.append(answer | result)
    return out


def _colour_only(
    relation: dict[str, Any] | None, teff: float | None, colour: float, caveats: list[str]
) -> dict[str, Any]:
    """The answer part of a row without parallax: the relation's ``teff`` at its ``colour``, flagged
    beyond the relation's fitted colour range (its domain), with its RMS as the uncertainty."""
    if relation is None or teff is None:
        raise ValueError(
            "row has no parallax (2-parameter solution) and this sed model version has no "
            "colour-only relation"
        )
    if not np.isfinite(colour):
        raise ValueError("row has no parallax and no BP-RP colour: nothing to answer from")
    low, high = relation["colour_min"], relation["colour_max"]
    beyond = (
        []
        if low <= colour <= high
        else [f"bp_rp {colour:.3g} outside training range [{low:.3g}, {high:.3g}]: extrapolated"]
    )
    return {
        "teff_k": teff,
        "teff_scatter_k": relation["rms_k"],
        "solution": photometry.COLOUR_ONLY,
        "caveats": caveats,
        "uncertainty": {"teff_k": _number(relation["rms_k"])},
        **_flags(beyond),
    }
