"""Gaia photometry: configurable quality cuts and SED features for the Teff model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SED_FEATURES = (
    "phot_g_mean_mag",
    "bp_rp",
    "bp_g",
    "g_rp",
    "parallax",
    "abs_g_mag",
    "parallax_over_error",
)


@dataclass(frozen=True)
class GaiaCuts:
    """Astrometric quality cuts: parallax/error > 10 (~10% distances), RUWE < 1.4 (single-star fit)."""

    parallax_over_error_min: float = 10.0
    ruwe_max: float = 1.4

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows passing every cut; NaN fails. Shape (n,), bool."""
        poe = frame["parallax_over_error"].to_numpy(dtype=float)
        ruwe = frame["ruwe"].to_numpy(dtype=float)
        passes_parallax = np.nan_to_num(poe, nan=-np.inf) > self.parallax_over_error_min
        return passes_parallax & (np.nan_to_num(ruwe, nan=np.inf) < self.ruwe_max)


def sed_features(frame: pd.DataFrame) -> pd.DataFrame:
    """SED model inputs from gaia_source columns: magnitudes, colours, parallax (mas), M_G (mag)."""
    parallax = frame["parallax"].to_numpy(dtype=float)
    g = frame["phot_g_mean_mag"].to_numpy(dtype=float)
    out = pd.DataFrame(index=frame.index)
    out["phot_g_mean_mag"] = g
    out["bp_rp"] = frame["bp_rp"].to_numpy(dtype=float)
    out["bp_g"] = frame["phot_bp_mean_mag"].to_numpy(dtype=float) - g
    out["g_rp"] = g - frame["phot_rp_mean_mag"].to_numpy(dtype=float)
    out["parallax"] = parallax
    with np.errstate(invalid="ignore", divide="ignore"):
        out["abs_g_mag"] = g + 5.0 * np.log10(parallax / 100.0)  # parallax in mas
    out["parallax_over_error"] = frame["parallax_over_error"].to_numpy(dtype=float)
    return out
