"""The torch models recover the generator's truth and beat their baselines (in memory, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from brainstar.demo.astro import gaia, sdss
from brainstar.demo.astro.stars import DemoStar, draw_stars
from brainstar.domain.astro import photometry, spectra, split, training


def _stars(n: int, seed: int) -> list[DemoStar]:
    return draw_stars(np.random.default_rng(seed), n)


def test_sed_model_recovers_teff_from_gaia_photometry() -> None:
    rng = np.random.default_rng(1)
    stars = _stars(500, 1)
    rows = pd.DataFrame([gaia.gaia_row(star, rng) for star in stars])
    keep = photometry.GaiaCuts().mask(rows)
    frame = pd.concat([rows[["source_id"]], photometry.sed_features(rows)], axis=1)
    frame["teff_k"] = [star.params.teff_k for star in stars]  # the true Teff
    frame = frame[keep].reset_index(drop=True)
    splits = split.assign(frame["source_id"].to_numpy(), split.teff_strata(frame["teff_k"].to_numpy()))
    result = training.train_sed(frame, splits, torch.device("cpu"))
    assert result.metrics["teff_k_rmse"] < 200.0
    assert result.metrics["teff_k_rmse"] < result.baseline_metrics["teff_k_rmse"]


@pytest.mark.slow  # ~17 s: 360 spectra generated and preprocessed
def test_spectral_model_recovers_stellar_parameters() -> None:
    rng = np.random.default_rng(2)
    rows = []
    for index, star in enumerate(_stars(360, 2)):
        spec, _ = sdss.sdss_spectrum(star, 400, 51800, 1 + index % 600, rng)
        flux, _, snr = spectra.preprocess(spec.loglam, spec.flux, spec.ivar, spec.and_mask)
        rows.append({"source_id": star.source_id, "flux": flux, "snr": snr, **vars(star.params)})
    frame = pd.DataFrame(rows)
    splits = split.assign(frame["source_id"].to_numpy(), split.teff_strata(frame["teff_k"].to_numpy()))
    result = training.train_spectral(frame, splits, torch.device("cpu"))
    # Against the true parameters, at the demo's S/N 15-60 per pixel.
    assert result.metrics["teff_k_rmse"] < 200.0
    assert result.metrics["logg_cgs_rmse"] < 0.35
    assert result.metrics["feh_dex_rmse"] < 0.25
    assert result.metrics["teff_k_rmse"] < result.baseline_metrics["teff_k_rmse"]
