"""Demo Gaia DR3 ``gaia_source`` rows and the archive's exports of them: CSV, ECSV, VOTable.

The bulk download (``GaiaSource_*.csv``) is ECSV with the literal ``null`` for missing values;
query results come as CSV (empty fields) or VOTable (``SOURCE_ID`` as the FIELD ID, masked
cells). 2-parameter solutions (astrometric_params_solved = 3) have no parallax and no RUWE.

The rows carry what the corrections need, made the way the catalogue's are: the parallax
includes the Lindegren et al. (2021) zero-point of the star (so subtracting it recovers the
truth), nu_eff_used_in_astrometry follows the colour relation of Lindegren et al. (2021, A&A
649, A2, eq. 3), GSP-Phot extinction comes with the other GSP-Phot values (about 30 % of
rows), and a few rows are blended: a neighbour adds flux to BP and RP, which raises the
BP/RP flux excess factor and shifts the colour (Riello et al. 2021).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import ascii, votable
from astropy.table import MaskedColumn, Table

from brainstar.core.atomic import atomic_path
from brainstar.demo.astro import physics
from brainstar.demo.astro.stars import DemoStar
from brainstar.domain.astro import photometry

GAIA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_id", "i8"),
    ("ra", "f8"),
    ("dec", "f8"),
    ("parallax", "f8"),
    ("parallax_error", "f4"),
    ("parallax_over_error", "f4"),
    ("ruwe", "f4"),
    ("astrometric_params_solved", "i2"),
    ("nu_eff_used_in_astrometry", "f4"),
    ("pseudocolour", "f4"),
    ("phot_g_mean_mag", "f4"),
    ("phot_bp_mean_mag", "f4"),
    ("phot_rp_mean_mag", "f4"),
    ("phot_bp_rp_excess_factor", "f4"),
    ("bp_rp", "f4"),
    ("ecl_lat", "f8"),
    ("teff_gspphot", "f4"),
    ("logg_gspphot", "f4"),
    ("mh_gspphot", "f4"),
    ("ag_gspphot", "f4"),
    ("ebpminrp_gspphot", "f4"),
)  # in gaia_source's own column order, with its types
CSV_FILES = ("GaiaSource_000000-003111.csv", "GaiaSource_003112-006224.csv")  # the archive's bulk naming
FIVE_PARAMETER, TWO_PARAMETER = 31, 3  # astrometric_params_solved: bits of the parameters solved for
POSITION_ONLY = ("parallax", "parallax_error", "parallax_over_error", "ruwe")  # empty for 2-parameter rows
BLENDED_FRACTION = 0.04  # share of rows with a neighbour in the BP/RP windows
GSP_PHOT_A0_ERROR = 0.05  # mag: scatter of the demo's GSP-Phot extinction about the truth


def gaia_row(star: DemoStar, rng: np.random.Generator, two_parameter: bool = False) -> dict[str, Any]:
    """Observed Gaia astrometry and photometry of a star, with reddening and noise.

    ``two_parameter``: the star got a position-only solution, so parallax and RUWE are
    missing (the same random numbers are drawn either way). The columns the corrections need
    are drawn from a generator of the star's own, so ``rng`` gives the other demo files the
    same numbers as before they existed.
    """
    p = star.params
    colour0 = physics.intrinsic_bp_rp(p.teff_k, p.feh_dex)
    g0 = physics.absolute_g(p) + 5.0 * np.log10(star.distance_pc / 10.0)
    g = g0 + physics.A_G_PER_AV * star.av_mag
    colour = colour0 + (physics.A_BP_PER_AV - physics.A_RP_PER_AV) * star.av_mag
    rp = g - (0.08 + 0.47 * colour)
    binary = rng.random() < 0.08
    mag_err = 0.002 + 0.01 * 10 ** (0.2 * (g - 19.0))
    plx_err = 0.015 + 0.1 * 10 ** (0.2 * (g - 19.0))
    parallax_noise = rng.normal(0, plx_err)
    g_obs, rp_obs = g + rng.normal(0, mag_err), rp + rng.normal(0, mag_err)
    colour_obs = colour + rng.normal(0, 1.4 * mag_err)
    has_gsp = rng.random() < 0.3
    ra, dec = star.ra_deg + rng.normal(0, 0.05 / 3600), star.dec_deg + rng.normal(0, 0.05 / 3600)
    ruwe = float(rng.uniform(1.5, 4.0) if binary else rng.normal(1.0, 0.05))
    gsp = {
        "teff_gspphot": p.teff_k + rng.normal(0, 150) if has_gsp else None,
        "logg_gspphot": p.logg_cgs + rng.normal(0, 0.2) if has_gsp else None,
        "mh_gspphot": p.feh_dex + rng.normal(0, 0.3) if has_gsp else None,
    }
    own = np.random.default_rng([star.source_id, 2021])
    nu_eff = float(np.clip(1.76 - 1.61 / np.pi * np.arctan(0.531 * colour_obs), 1.24, 1.72))
    ecl_lat = float(photometry.ecliptic_latitude(np.array([ra]), np.array([dec]))[0])
    # Outside the recipe's range (G < 6) it gives NaN: no offset there, as nothing would remove it.
    zpt_mas = photometry.zero_point_module().get_zpt(
        [g_obs], [nu_eff], [np.nan], [ecl_lat], [FIVE_PARAMETER], _warnings=False
    )
    parallax = 1000.0 / star.distance_pc + float(np.nan_to_num(zpt_mas[0])) + parallax_noise
    excess = float(photometry.expected_excess(colour_obs)) + own.normal(
        0, float(photometry.excess_sigma(g_obs))
    )
    bp_obs = rp_obs + colour_obs
    blend_bp, blend_rp = own.uniform(0.05, 0.5, 2)
    if own.random() < BLENDED_FRACTION:
        # A neighbour's light in the BP and RP windows (G's profile fit leaves it out): C rises by
        # the added share of BP+RP flux (taken as equal in both), and the colour shifts.
        excess *= 1.0 + 0.5 * (blend_bp + blend_rp)
        bp_obs -= 2.5 * np.log10(1.0 + blend_bp)
        rp_obs -= 2.5 * np.log10(1.0 + blend_rp)
    a0 = max(0.0, star.av_mag + own.normal(0, GSP_PHOT_A0_ERROR))
    row = {
        "source_id": star.source_id,
        "ra": ra,
        "dec": dec,
        "parallax": parallax,
        "parallax_error": plx_err,
        "parallax_over_error": parallax / plx_err,
        "ruwe": ruwe,
        "astrometric_params_solved": TWO_PARAMETER if two_parameter else FIVE_PARAMETER,
        "nu_eff_used_in_astrometry": None if two_parameter else nu_eff,  # no colour used in astrometry
        "pseudocolour": None,  # only 6-parameter solutions have one
        "phot_g_mean_mag": g_obs,
        "phot_bp_mean_mag": bp_obs,
        "phot_rp_mean_mag": rp_obs,
        "phot_bp_rp_excess_factor": excess,
        "bp_rp": bp_obs - rp_obs,
        "ecl_lat": ecl_lat,
        **gsp,
        "ag_gspphot": physics.A_G_PER_AV * a0 if has_gsp else None,
        "ebpminrp_gspphot": (physics.A_BP_PER_AV - physics.A_RP_PER_AV) * a0 if has_gsp else None,
    }
    return {**row, **dict.fromkeys(POSITION_ONLY)} if two_parameter else row


def gaia_table(rows: list[dict[str, float | int | None]]) -> Table:
    """A gaia_source Table; ``None`` or NaN values become masked (empty CSV fields, like the archive)."""
    columns = []
    for name, dtype in GAIA_COLUMNS:
        values = [row.get(name) for row in rows]
        mask = [v is None or (isinstance(v, float) and not np.isfinite(v)) for v in values]
        filled = [0 if m else v for v, m in zip(values, mask, strict=True)]
        columns.append(MaskedColumn(np.asarray(filled, dtype=dtype), name=name, mask=mask))
    return Table(columns)


def write_gaia_csv(path: Path, table: Table) -> Path:
    """A query result exported as CSV: masked values are empty fields."""
    with atomic_path(path) as tmp:
        table.write(tmp, format="ascii.csv", overwrite=True)
    return path


def write_gaia_ecsv(path: Path, table: Table) -> Path:
    """The bulk-download layout: ECSV, comma-delimited, missing values written as ``null``."""
    buffer = io.StringIO()
    ascii.write(table, buffer, format="ecsv", delimiter=",")  # masked cells come out empty
    lines = buffer.getvalue().splitlines()
    header = [line for line in lines if line.startswith("#")]
    # Splitting on commas is safe: gaia_table holds numbers only, never a quoted comma.
    body = [
        ",".join("null" if cell in ("", '""') else cell for cell in line.split(","))
        for line in lines[len(header) :]
    ]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join([*header, *body]) + "\n")
    return path


def write_gaia_votable(path: Path, table: Table) -> Path:
    """A query result as the archive's VOTable: FIELD ID ``SOURCE_ID``, name ``source_id``, masked cells."""
    document = votable.from_table(table)
    source_id = document.get_first_table().get_field_by_id("source_id")
    source_id.ID = "SOURCE_ID"
    with atomic_path(path) as tmp:
        document.to_xml(str(tmp))
    return path


def write_gaia_source(folder: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """``rows`` split in two halves over the two CSV_FILES (bulk ECSV), as a bulk download comes in chunks."""
    half = len(rows) // 2
    chunks = (rows[:half], rows[half:])
    return [
        write_gaia_ecsv(folder / name, gaia_table(chunk))
        for name, chunk in zip(CSV_FILES, chunks, strict=True)
    ]
