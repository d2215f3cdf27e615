"""A demo SSPP parameter table (``sppParams``) for the demo spectra, in the CAS column names.

The SEGUE Stellar Parameter Pipeline's adopted parameters are what SDSS users take as
stellar labels; they live in the ``sppParams`` table, not in the spec files, and join on
(PLATE, MJD, FIBERID). The demo writes the columns of that table the pipeline uses and the
ones users filter on (FLAG, SNR, the Hammer type, the ELODIE-based velocity); the rest of
the table's ~100 columns are alternative estimates nothing here reads. -9999 marks a
parameter the SSPP did not adopt, as in the real table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from brainstar.core.atomic import atomic_path

SSPP_FILE = "sppParams.fits"
SSPP_MISSING = -9999.0
# Demo catalogue errors (1 sigma) in K, dex, dex: the labels are the truth plus this noise.
SSPP_UNCERTAINTY = {"TEFFADOP": 15.0, "LOGGADOP": 0.03, "FEHADOP": 0.02}
TRUTH_KEYS = {"TEFFADOP": "teff_k", "LOGGADOP": "logg_cgs", "FEHADOP": "feh_dex"}
SPEC_NAME = re.compile(r"spec-(\d{4,5})-(\d{5})-(\d{4})\.fits$")


def sspp_rows(spectra_truth: dict[str, Any], rng: np.random.Generator, missing_fraction: float) -> Table:
    """One row per stellar spectrum in ``spectra_truth`` (keyed by spec file name); a random
    ``missing_fraction`` of them with no adopted parameters (all three -9999, FLAG 'X')."""
    stellar = {name: truth for name, truth in sorted(spectra_truth.items()) if "teff_k" in truth}
    keys = np.array(
        [[int(part) for part in SPEC_NAME.search(name).groups()] for name in stellar], dtype=np.int64
    )
    n = len(stellar)
    missing = rng.random(n) < missing_fraction
    columns: dict[str, Any] = {"PLATE": keys[:, 0], "MJD": keys[:, 1], "FIBERID": keys[:, 2]}
    for column, truth_key in TRUTH_KEYS.items():
        sigma = SSPP_UNCERTAINTY[column]
        values = np.array([truth[truth_key] for truth in stellar.values()]) + rng.normal(0.0, sigma, n)
        columns[column] = np.where(missing, SSPP_MISSING, values).astype(np.float32)
        columns[f"{column}N"] = np.where(missing, 0, rng.integers(3, 8, n)).astype(np.int16)
        columns[f"{column}UNC"] = np.where(missing, SSPP_MISSING, sigma).astype(np.float32)
    columns["FLAG"] = np.where(missing, "X", "nnnnn")
    columns["SNR"] = np.array([truth.get("snr", np.nan) for truth in stellar.values()], dtype=np.float32)
    columns["ELODIERVFINAL"] = np.array(
        [truth.get("rv_kms", 0.0) for truth in stellar.values()], dtype=np.float32
    )
    columns["ELODIERVFINALERR"] = np.full(n, 5.0, dtype=np.float32)
    return Table(columns)


def write_sspp_params(
    path: Path, spectra_truth: dict[str, Any], rng: np.random.Generator, missing_fraction: float = 0.1
) -> Path:
    """Write the demo sppParams table as a FITS binary table (HDU 1), atomically."""
    table = sspp_rows(spectra_truth, rng, missing_fraction)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        table.write(tmp, format="fits", overwrite=True)  # over the empty temp file
    return path
