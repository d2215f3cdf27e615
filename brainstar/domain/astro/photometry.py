"""Gaia photometry and astrometry: corrections, quality cuts and SED features for the Teff model.

What a ``gaia_source`` row needs before a model may learn from it, each step applied only
when the row carries what it needs and recorded per row either way (never guessed):

- **Parallax zero-point** (Lindegren et al. 2021, A&A 649, A4), from the ``gaiadr3-zeropoint``
  package: corrected parallax = parallax - zpt(G, nu_eff or pseudocolour, ecliptic
  latitude, solution type). Rows without those inputs, or outside the recipe's range, keep
  the catalogue parallax and say why.
- **Extinction**: GSP-Phot ``ag_gspphot`` and ``ebpminrp_gspphot`` deredden G and BP-RP;
  rows without them keep observed photometry, flagged by the ``dereddened`` feature.
- **BP/RP flux excess** (Riello et al. 2021, A&A 649, A3): the corrected excess factor C*
  and its 1-sigma scatter at the source's G; a row beyond ``flux_excess_sigma_max`` sigma
  has BP/RP fluxes contaminated (blends, background) and its colour cannot be trusted.
- **RUWE** is never invented: a row without one fails the RUWE cut, with that reason.
- **2-parameter solutions** (no parallax) get no astrometric features; a colour-only
  relation (:func:`fit_colour_teff`) answers for them, flagged as such.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# The model's inputs. ``phot_g_mean_mag``, ``bp_rp`` and ``abs_g_mag`` are dereddened where the row
# carries GSP-Phot extinction (``dereddened`` = 1), observed otherwise; ``bp_g`` and ``g_rp`` stay
# observed, since dereddening them needs A_BP and A_RP separately. ``parallax`` is zero-point
# corrected where the row allows it.
SED_FEATURES = (
    "phot_g_mean_mag",
    "bp_rp",
    "bp_g",
    "g_rp",
    "parallax",
    "abs_g_mag",
    "parallax_over_error",
    "dereddened",
)
# Per-row record of what was applied (kept beside the features in the SED table and in API answers).
QUALITY_COLUMNS = (
    "solution",
    "parallax_zpt_mas",
    "parallax_zpt_note",
    "a_g_mag",
    "e_bp_rp_mag",
    "c_star",
    "c_star_sigma",
)
ZERO_POINT_INPUTS = ("nu_eff_used_in_astrometry", "pseudocolour", "ecl_lat", "astrometric_params_solved")
EXTINCTION_INPUTS = ("ag_gspphot", "ebpminrp_gspphot")
FLUX_EXCESS_INPUT = "phot_bp_rp_excess_factor"
OPTIONAL_COLUMNS = (*ZERO_POINT_INPUTS, FLUX_EXCESS_INPUT, *EXTINCTION_INPUTS)
# astrometric_params_solved: bit mask of the parameters solved for.
TWO_PARAMETER, FIVE_PARAMETER, SIX_PARAMETER = 3, 31, 95
SOLUTIONS = {TWO_PARAMETER: "2-parameter", FIVE_PARAMETER: "5-parameter", SIX_PARAMETER: "6-parameter"}
ZPT_APPLIED = "applied (Lindegren et al. 2021)"
# Mean obliquity of the ecliptic at J2000 (IAU 1976, 84381.448 arcsec); the IAU 2006 value moves
# the latitude by < 0.1 arcsec, nothing for the zero-point, which depends on sin(latitude).
OBLIQUITY_DEG = 84381.448 / 3600.0
COLOUR_ONLY = "2-parameter: colour only"


def column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name]`` as a float64 copy (writable); all NaN when the column is absent (a file may
    not carry it)."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return np.array(pd.to_numeric(frame[name], errors="coerce"), dtype=np.float64)


def ecliptic_latitude(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Ecliptic latitude in degrees of ICRS positions (rotation about the x axis by the obliquity)."""
    ra, dec, eps = np.radians(ra_deg), np.radians(dec_deg), np.radians(OBLIQUITY_DEG)
    sin_beta = np.sin(dec) * np.cos(eps) - np.cos(dec) * np.sin(eps) * np.sin(ra)
    return np.degrees(np.arcsin(np.clip(sin_beta, -1.0, 1.0)))


def solution_type(frame: pd.DataFrame) -> np.ndarray:
    """'5-parameter', '6-parameter', '2-parameter' from astrometric_params_solved; 'unknown' without it."""
    solved = column(frame, "astrometric_params_solved")
    return np.array([SOLUTIONS.get(int(v), "unknown") if np.isfinite(v) else "unknown" for v in solved])


_TABLES_LOADED = False


def zero_point_module() -> Any:
    """The gaiadr3-zeropoint ``zpt`` module with its coefficient tables loaded (once per process)."""
    global _TABLES_LOADED
    from zero_point import zpt

    if not _TABLES_LOADED:
        zpt.load_tables()
        _TABLES_LOADED = True
    return zpt


def zero_point(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(zpt in mas, NaN where not applied; note per row). Corrected parallax = parallax - zpt.

    ecl_lat, when the file lacks it, is computed from ra/dec (a rotation, not an estimate);
    nu_eff (5-parameter) and pseudocolour (6-parameter) are never derived from the colour: the
    catalogue values are what the astrometric solution used.
    """
    zpt_mas = np.full(len(frame), np.nan)
    parallax = column(frame, "parallax")
    solved = column(frame, "astrometric_params_solved")
    g = column(frame, "phot_g_mean_mag")
    ecl_lat = column(frame, "ecl_lat")
    from_position = ~np.isfinite(ecl_lat)
    ecl_lat[from_position] = ecliptic_latitude(column(frame, "ra"), column(frame, "dec"))[from_position]
    nu_eff = column(frame, "nu_eff_used_in_astrometry")
    pseudocolour = column(frame, "pseudocolour")
    six = solved == SIX_PARAMETER
    colour_input = np.where(six, pseudocolour, nu_eff)
    # Checked in this order; a row gets the first that applies (np.select keeps the first match).
    conditions = [
        ~np.isfinite(parallax),
        (solved != FIVE_PARAMETER) & ~six,
        ~np.isfinite(g),
        ~np.isfinite(colour_input) & six,
        ~np.isfinite(colour_input),
        ~np.isfinite(ecl_lat),
    ]
    choices = [
        "not applied: no parallax",
        "not applied: astrometric_params_solved missing or not 31/95",
        "not applied: no phot_g_mean_mag",
        "not applied: no pseudocolour",
        "not applied: no nu_eff_used_in_astrometry",
        "not applied: no ecl_lat (nor ra, dec)",
    ]
    notes = np.select(conditions, choices, default="").astype(object)
    todo = notes == ""
    if todo.any():
        # _warnings=False: rows outside the recipe's calibrated range (G 6-21, nu_eff 1.1-1.9,
        # pseudocolour 1.24-1.72) come back NaN instead of an extrapolated value.
        values = zero_point_module().get_zpt(
            g[todo], nu_eff[todo], pseudocolour[todo], ecl_lat[todo], solved[todo], _warnings=False
        )
        zpt_mas[todo] = np.asarray(values, dtype=np.float64)
    applied = todo & np.isfinite(zpt_mas)
    notes[todo & ~applied] = "not applied: outside the recipe's range (G, nu_eff or pseudocolour)"
    notes[applied] = ZPT_APPLIED
    return zpt_mas, notes.astype(str)


def corrected_parallax(frame: pd.DataFrame) -> np.ndarray:
    """parallax - zpt where the zero-point applies, the catalogue parallax otherwise (mas)."""
    zpt_mas, _ = zero_point(frame)
    return column(frame, "parallax") - np.nan_to_num(zpt_mas, nan=0.0)


def extinction(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A_G, E(BP-RP), dereddened) in mag; A_G and E NaN and dereddened False without both GSP-Phot values."""
    a_g, e_bp_rp = column(frame, "ag_gspphot"), column(frame, "ebpminrp_gspphot")
    usable = np.isfinite(a_g) & np.isfinite(e_bp_rp)
    return np.where(usable, a_g, np.nan), np.where(usable, e_bp_rp, np.nan), usable


def expected_excess(bp_rp: np.ndarray) -> np.ndarray:
    """The flux excess factor C of a well-behaved source of catalogue colour ``bp_rp`` (Riello et al.
    2021, eq. 6 with table 2): a piecewise polynomial, since the G and BP+RP passbands differ."""
    x = np.asarray(bp_rp, dtype=np.float64)
    return np.where(
        x < 0.5,
        1.154360 + 0.033772 * x + 0.032277 * x**2,
        np.where(
            x < 4.0,
            1.162004 + 0.011464 * x + 0.049255 * x**2 - 0.005879 * x**3,
            1.057572 + 0.140537 * x,
        ),
    )


def excess_sigma(g_mag: np.ndarray) -> np.ndarray:
    """1-sigma scatter of C* for well-behaved sources at magnitude G (Riello et al. 2021, eq. 18)."""
    return 0.0059898 + 8.817481e-12 * np.asarray(g_mag, dtype=np.float64) ** 7.618399


def flux_excess(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(C* = C - expected C at the catalogue colour, its 1-sigma scatter at the row's G); NaN without C."""
    excess = column(frame, FLUX_EXCESS_INPUT)
    return excess - expected_excess(column(frame, "bp_rp")), excess_sigma(column(frame, "phot_g_mean_mag"))


def quality(frame: pd.DataFrame) -> pd.DataFrame:
    """QUALITY_COLUMNS per row: solution type, zero-point applied and why not, extinction used, C*."""
    zpt_mas, zpt_notes = zero_point(frame)
    a_g, e_bp_rp, _ = extinction(frame)
    c_star, sigma = flux_excess(frame)
    values = [solution_type(frame), zpt_mas, zpt_notes, a_g, e_bp_rp, c_star, sigma]
    return pd.DataFrame(dict(zip(QUALITY_COLUMNS, values, strict=True)), index=frame.index)


def quality_notes(frame: pd.DataFrame) -> list[str]:
    """What a file's rows lack for the corrections, counted ('k of n rows: not dereddened ...')."""
    n = len(frame)
    _, zpt_notes = zero_point(frame)
    _, _, dereddened = extinction(frame)
    c_star, _ = flux_excess(frame)
    counts = Counter(f"parallax zero-point {note}" for note in zpt_notes if note != ZPT_APPLIED)
    if (~dereddened).any():
        counts["not dereddened (no ag_gspphot and ebpminrp_gspphot)"] = int((~dereddened).sum())
    if not np.isfinite(c_star).all():
        unchecked = int((~np.isfinite(c_star)).sum())
        counts["BP/RP flux excess unchecked (no phot_bp_rp_excess_factor or bp_rp)"] = unchecked
    return [f"{k} of {n} rows: {what}" for what, k in counts.items()]


@dataclass(frozen=True)
class GaiaCuts:
    """Quality cuts: parallax/error > 10 (~10% distances), RUWE < 1.4 (single-star fit), and
    |C*| <= 3 sigma(G) (uncontaminated BP/RP photometry; None switches that cut off).

    A row without the value a cut needs fails that cut: nothing is filled in.
    """

    parallax_over_error_min: float = 10.0
    ruwe_max: float = 1.4
    flux_excess_sigma_max: float | None = 3.0

    def failures(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """{kind of failure: bool mask (n,)}; a row passes when it is in none of them."""
        poe = column(frame, "parallax_over_error")
        ruwe = column(frame, "ruwe")
        out = {
            "no parallax_over_error": ~np.isfinite(poe),
            "parallax_over_error too low": np.isfinite(poe) & ~(poe > self.parallax_over_error_min),
            "no RUWE": ~np.isfinite(ruwe),
            "RUWE too high": np.isfinite(ruwe) & ~(ruwe < self.ruwe_max),
        }
        if self.flux_excess_sigma_max is not None:
            c_star, sigma = flux_excess(frame)
            out["flux excess unchecked"] = ~np.isfinite(c_star)
            out["flux excess too high"] = np.abs(c_star) > self.flux_excess_sigma_max * sigma
        return out

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows passing every cut; a missing value fails. Shape (n,), bool."""
        failed = np.zeros(len(frame), dtype=bool)
        for rows in self.failures(frame).values():
            failed |= rows
        return ~failed

    def failure_counts(self, frame: pd.DataFrame) -> dict[str, int]:
        """How many rows fail for each kind of failure (a row may fail several)."""
        return {kind: int(rows.sum()) for kind, rows in self.failures(frame).items() if rows.any()}

    def reasons(self, frame: pd.DataFrame) -> list[list[str]]:
        """Per row, why it fails, with its values (empty list: it passes every cut)."""
        failures = self.failures(frame)
        poe, ruwe = column(frame, "parallax_over_error"), column(frame, "ruwe")
        c_star, sigma = flux_excess(frame)
        solution = solution_type(frame)
        out: list[list[str]] = []
        for i in range(len(frame)):
            why = []
            if failures["no parallax_over_error"][i]:
                two = " (2-parameter solution)" if solution[i] == "2-parameter" else ""
                why.append(f"no parallax_over_error{two}")
            if failures["parallax_over_error too low"][i]:
                why.append(f"parallax_over_error {poe[i]:.3g} <= {self.parallax_over_error_min:g}")
            if failures["no RUWE"][i]:
                why.append("no RUWE (missing values are not filled in)")
            if failures["RUWE too high"][i]:
                why.append(f"RUWE {ruwe[i]:.3g} >= {self.ruwe_max:g}")
            if failures.get("flux excess unchecked", np.zeros(len(frame), bool))[i]:
                why.append("BP/RP flux excess unchecked (no phot_bp_rp_excess_factor or bp_rp)")
            if failures.get("flux excess too high", np.zeros(len(frame), bool))[i]:
                why.append(
                    f"BP/RP flux excess |C*| = {abs(c_star[i]):.3g} is {abs(c_star[i]) / sigma[i]:.1f} sigma "
                    f"> {self.flux_excess_sigma_max:g} sigma"
                )
            out.append(why)
        return out


def sed_features(frame: pd.DataFrame) -> pd.DataFrame:
    """SED_FEATURES from gaia_source columns: magnitudes, colours (mag), parallax (mas), M_G (mag).

    Rows without a parallax (2-parameter solutions) get NaN parallax features; their colours
    are still computed (see :func:`colour_only_teff`).
    """
    a_g, e_bp_rp, dereddened = extinction(frame)
    g_observed = column(frame, "phot_g_mean_mag")
    g = g_observed - np.nan_to_num(a_g, nan=0.0)
    parallax = corrected_parallax(frame)
    out = pd.DataFrame(index=frame.index)
    out["phot_g_mean_mag"] = g
    out["bp_rp"] = column(frame, "bp_rp") - np.nan_to_num(e_bp_rp, nan=0.0)
    out["bp_g"] = column(frame, "phot_bp_mean_mag") - g_observed
    out["g_rp"] = g_observed - column(frame, "phot_rp_mean_mag")
    out["parallax"] = parallax
    with np.errstate(invalid="ignore", divide="ignore"):
        out["abs_g_mag"] = g + 5.0 * np.log10(parallax / 100.0)  # parallax in mas
    out["parallax_over_error"] = column(frame, "parallax_over_error")
    out["dereddened"] = dereddened.astype(np.float64)
    return out


COLOUR_TEFF_DEGREE = 2
# Rows a colour-only fit needs: a quadratic's 3 coefficients, each constrained by >= 10 stars.
COLOUR_TEFF_MIN_ROWS = 10 * (COLOUR_TEFF_DEGREE + 1)


def fit_colour_teff(features: pd.DataFrame, teff_k: np.ndarray) -> dict[str, Any] | None:
    """A colour-Teff relation for rows without a parallax, fitted on the training rows.

    theta = 5040 / Teff as a quadratic in the dereddened (BP-RP)_0: the functional form of the
    published Gaia colour-Teff calibrations (Mucciarelli, Bellazzini & Massari 2021) without
    their [Fe/H] terms, which a bare gaia_source row does not have. Fitted on this training set,
    so it shares the SED model's Teff scale (the spectroscopic labels) instead of a literature
    IRFM scale; only dereddened rows are used, since an observed colour carries the training
    field's own reddening. Why not a second network: a colour-only answer is a one-dimensional
    curve, which three coefficients hold as well as a net and whose range and scatter can be
    stated exactly. Returns a plain dict (``torch.load(weights_only=True)`` safe) with the
    coefficients, the fitted colour range and the RMS residual in K, or None with fewer than
    COLOUR_TEFF_MIN_ROWS dereddened rows.
    """
    use = (features["dereddened"].to_numpy() > 0) & np.isfinite(features["bp_rp"].to_numpy())
    use &= np.isfinite(teff_k) & (teff_k > 0)
    if use.sum() < COLOUR_TEFF_MIN_ROWS:
        return None
    colour = features["bp_rp"].to_numpy(dtype=np.float64)[use]
    theta = 5040.0 / teff_k[use]
    coefficients = np.polynomial.polynomial.polyfit(colour, theta, COLOUR_TEFF_DEGREE)
    predicted = 5040.0 / np.polynomial.polynomial.polyval(colour, coefficients)
    return {
        "coefficients": [float(c) for c in coefficients],
        "colour_min": float(colour.min()),
        "colour_max": float(colour.max()),
        "rms_k": float(np.sqrt(np.mean((predicted - teff_k[use]) ** 2))),
        "n_rows": int(use.sum()),
    }


def colour_only_teff(relation: dict[str, Any], features: pd.DataFrame) -> np.ndarray:
    """Teff (K) from (BP-RP) alone with a :func:`fit_colour_teff` relation; NaN where theta <= 0.

    Beyond the relation's fitted colour range this extrapolates: the caller flags it.
    """
    colour = features["bp_rp"].to_numpy(dtype=np.float64)
    theta = np.polynomial.polynomial.polyval(colour, np.asarray(relation["coefficients"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(theta > 0, 5040.0 / theta, np.nan)
