"""What the astro code expects to find in the landing zone, beyond the file-name patterns.

The survey files (docs/astro-formats.md section 1): SDSS ``spec-PPPP-MMMMM-FFFF.fits``
with HDU1 ``COADD`` and a one-row HDU2 ``SPECOBJ``; Kepler ``kplrNNNNNNNNN-*_llc.fits``
with the ``LIGHTCURVE`` table; Gaia archive CSVs with ``gaia_source`` column names. The
names are matched by ``brainstar.core.landing.SURVEY_PATTERNS``; the readers check the
content. Besides them, the light-curve reference catalogue (like the KOI and Kepler EB
catalogues) lands at ``LABELS_CATALOG`` as a CSV with columns ``LABELS_COLUMNS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LABELS_CATALOG = Path("astro") / "catalogs" / "kepler_variability_labels.csv"
LABELS_COLUMNS = ("kepid", "class", "period_days")  # period_days is empty for non-periodic classes
LC_CLASSES = ("transit", "eclipsing_binary", "pulsator", "quiet")  # values of the catalogue's class


@dataclass
class SdssSpectrum:
    """One SDSS coadd: arrays of shape (n_pix,) and the SPECOBJ summary values."""

    plate: int
    mjd: int
    fiber: int
    specobjid: int
    ra_deg: float
    dec_deg: float
    loglam: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray
    and_mask: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"spec-{self.plate:04d}-{self.mjd:05d}-{self.fiber:04d}.fits"
