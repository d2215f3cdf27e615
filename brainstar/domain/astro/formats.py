"""What the astro code expects to find in the landing zone: the survey data models, column for column.

The survey files (docs/astro-formats.md section 1): SDSS ``spec-PPPP-MMMMM-FFFF.fits``
(HDU1 ``COADD``, a one-row HDU2 ``SPECOBJ``/``SPALL`` whose columns are
:data:`SPECOBJ_COLUMNS`, HDU3 ``SPZLINE`` with :data:`SPZLINE_COLUMNS`); Kepler
``kplrNNNNNNNNN-*_llc.fits`` and TESS ``tess*-s_lc.fits`` with the ``LIGHTCURVE`` table of
:data:`LIGHTCURVE_COLUMNS`; Gaia archive exports (CSV, ECSV, VOTable) with ``gaia_source``
column names. The names are matched by ``brainstar.core.landing.SURVEY_PATTERNS``; the
readers check the content. Besides them, the light-curve reference catalogue (like the KOI
and Kepler EB catalogues) lands at ``LABELS_CATALOG`` as a CSV with columns ``LABELS_COLUMNS``.

The column tables are the published data models (sources in docs/astro-formats.md); the
demo writers write exactly these, so tests meet the layout real files have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LABELS_CATALOG = Path("astro") / "catalogs" / "kepler_variability_labels.csv"
LABELS_COLUMNS = ("kepid", "class", "period_days")  # period_days is empty for non-periodic classes
# Values of the catalogue's class; pulsator: RR Lyrae and delta Scuti stars, rotation: spot modulation.
LC_CLASSES = ("transit", "eclipsing_binary", "pulsator", "rotation", "quiet")

# SDSS-I/II SPECOBJ row of a DR8+ spec file (a copy of the specObj-dr9 row): (TTYPE, TFORM), in
# file order. Fourteen columns are arrays (OBJID[5], TCOLUMN[10], THETA[10], SN_MEDIAN[5],
# FRACNSIG*[10], SPECTRO*FLUX*[5], CALIBFLUX*[5]); identifiers are strings because the
# 64-bit SkyServer ids are unsigned. String widths follow the SkyServer varchar lengths.
SPECOBJ_COLUMNS: tuple[tuple[str, str], ...] = (
    ("SURVEY", "32A"),
    ("INSTRUMENT", "32A"),
    ("CHUNK", "32A"),
    ("PROGRAMNAME", "32A"),
    ("PLATERUN", "32A"),
    ("PLATEQUALITY", "32A"),
    ("PLATESN2", "E"),
    ("DEREDSN2", "E"),
    ("LAMBDA_EFF", "E"),
    ("BLUEFIBER", "J"),
    ("ZOFFSET", "E"),
    ("SNTURNOFF", "E"),
    ("NTURNOFF", "J"),
    ("SPECPRIMARY", "B"),
    ("SPECSDSS", "B"),
    ("SPECLEGACY", "B"),
    ("SPECSEGUE", "B"),
    ("SPECSEGUE1", "B"),
    ("SPECSEGUE2", "B"),
    ("SPECBOSS", "B"),
    ("BOSS_SPECOBJ_ID", "J"),
    ("SPECOBJID", "19A"),
    ("FLUXOBJID", "19A"),
    ("BESTOBJID", "19A"),
    ("TARGETOBJID", "19A"),
    ("PLATEID", "19A"),
    ("NSPECOBS", "I"),
    ("FIRSTRELEASE", "32A"),
    ("RUN2D", "32A"),
    ("RUN1D", "32A"),
    ("DESIGNID", "J"),
    ("CX", "D"),
    ("CY", "D"),
    ("CZ", "D"),
    ("XFOCAL", "E"),
    ("YFOCAL", "E"),
    ("SOURCETYPE", "32A"),
    ("TARGETTYPE", "32A"),
    ("PRIMTARGET", "J"),
    ("SECTARGET", "J"),
    ("LEGACY_TARGET1", "J"),
    ("LEGACY_TARGET2", "J"),
    ("SPECIAL_TARGET1", "J"),
    ("SPECIAL_TARGET2", "J"),
    ("SEGUE1_TARGET1", "J"),
    ("SEGUE1_TARGET2", "J"),
    ("SEGUE2_TARGET1", "J"),
    ("SEGUE2_TARGET2", "J"),
    ("MARVELS_TARGET1", "J"),
    ("MARVELS_TARGET2", "J"),
    ("BOSS_TARGET1", "K"),
    ("BOSS_TARGET2", "K"),
    ("ANCILLARY_TARGET1", "K"),
    ("ANCILLARY_TARGET2", "K"),
    ("SPECTROGRAPHID", "I"),
    ("PLATE", "J"),
    ("TILE", "J"),
    ("MJD", "J"),
    ("FIBERID", "J"),
    ("OBJID", "5J"),
    ("PLUG_RA", "D"),
    ("PLUG_DEC", "D"),
    ("CLASS", "6A"),
    ("SUBCLASS", "21A"),
    ("Z", "E"),
    ("Z_ERR", "E"),
    ("RCHI2", "E"),
    ("DOF", "J"),
    ("RCHI2DIFF", "E"),
    ("TFILE", "24A"),
    ("TCOLUMN", "10E"),
    ("NPOLY", "J"),
    ("THETA", "10E"),
    ("VDISP", "E"),
    ("VDISP_ERR", "E"),
    ("VDISPZ", "E"),
    ("VDISPZ_ERR", "E"),
    ("VDISPCHI2", "E"),
    ("VDISPNPIX", "J"),
    ("VDISPDOF", "J"),
    ("WAVEMIN", "E"),
    ("WAVEMAX", "E"),
    ("WCOVERAGE", "E"),
    ("ZWARNING", "J"),
    ("SN_MEDIAN_ALL", "E"),
    ("SN_MEDIAN", "5E"),
    ("CHI68P", "E"),
    ("FRACNSIGMA", "10E"),
    ("FRACNSIGHI", "10E"),
    ("FRACNSIGLO", "10E"),
    ("SPECTROFLUX", "5E"),
    ("SPECTROFLUX_IVAR", "5E"),
    ("SPECTROSYNFLUX", "5E"),
    ("SPECTROSYNFLUX_IVAR", "5E"),
    ("SPECTROSKYFLUX", "5E"),
    ("ANYANDMASK", "J"),
    ("ANYORMASK", "J"),
    ("SPEC1_G", "E"),
    ("SPEC1_R", "E"),
    ("SPEC1_I", "E"),
    ("SPEC2_G", "E"),
    ("SPEC2_R", "E"),
    ("SPEC2_I", "E"),
    ("ELODIE_FILENAME", "32A"),
    ("ELODIE_OBJECT", "32A"),
    ("ELODIE_SPTYPE", "32A"),
    ("ELODIE_BV", "E"),
    ("ELODIE_TEFF", "E"),
    ("ELODIE_LOGG", "E"),
    ("ELODIE_FEH", "E"),
    ("ELODIE_Z", "E"),
    ("ELODIE_Z_ERR", "E"),
    ("ELODIE_Z_MODELERR", "E"),
    ("ELODIE_RCHI2", "E"),
    ("ELODIE_DOF", "J"),
    ("Z_NOQSO", "E"),
    ("Z_ERR_NOQSO", "E"),
    ("ZWARNING_NOQSO", "J"),
    ("CLASS_NOQSO", "6A"),
    ("SUBCLASS_NOQSO", "21A"),
    ("RCHI2DIFF_NOQSO", "E"),
    ("Z_PERSON", "E"),
    ("CLASS_PERSON", "J"),
    ("Z_CONF_PERSON", "J"),
    ("COMMENTS_PERSON", "32A"),
    ("CALIBFLUX", "5E"),
    ("CALIBFLUX_IVAR", "5E"),
)
# HDU 3 of a spec file, one row per fitted emission line (idlspec2d spZline).
SPZLINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("PLATE", "J"),
    ("MJD", "J"),
    ("FIBERID", "J"),
    ("LINENAME", "13A"),
    ("LINEWAVE", "D"),
    ("LINEZ", "E"),
    ("LINEZ_ERR", "E"),
    ("LINESIGMA", "E"),
    ("LINESIGMA_ERR", "E"),
    ("LINEAREA", "E"),
    ("LINEAREA_ERR", "E"),
    ("LINEEW", "E"),
    ("LINEEW_ERR", "E"),
    ("LINECONTLEVEL", "E"),
    ("LINECONTLEVEL_ERR", "E"),
    ("LINENPIXLEFT", "J"),
    ("LINENPIXRIGHT", "J"),
    ("LINEDOF", "E"),
    ("LINECHI2", "E"),
)
SDSS_CLASSES = ("STAR", "GALAXY", "QSO")  # values of SPECOBJ CLASS
ELODIE_LABELS = ("ELODIE_TEFF", "ELODIE_LOGG", "ELODIE_FEH")  # all 0 when no ELODIE star was fitted
SSPP_MISSING = -9999.0  # sppParams sentinel for "not measured"

# LIGHTCURVE table (HDU 1) of Kepler llc and TESS SPOC lc files: (TTYPE, TFORM, TUNIT, TDISP);
# the two differ only in the quality column's name and TIME's zero point (see MISSIONS).
_QUALITY, _TIME_UNIT = "<quality>", "<time unit>"
_LIGHTCURVE_LAYOUT: tuple[tuple[str, str, str, str], ...] = (
    ("TIME", "D", _TIME_UNIT, "D14.7"),
    ("TIMECORR", "E", "d", "E14.7"),
    ("CADENCENO", "J", "", "I10"),
    ("SAP_FLUX", "E", "e-/s", "E14.7"),
    ("SAP_FLUX_ERR", "E", "e-/s", "E14.7"),
    ("SAP_BKG", "E", "e-/s", "E14.7"),
    ("SAP_BKG_ERR", "E", "e-/s", "E14.7"),
    ("PDCSAP_FLUX", "E", "e-/s", "E14.7"),
    ("PDCSAP_FLUX_ERR", "E", "e-/s", "E14.7"),
    (_QUALITY, "J", "", "B16.16"),
    ("PSF_CENTR1", "D", "pixel", "F10.5"),
    ("PSF_CENTR1_ERR", "E", "pixel", "E14.7"),
    ("PSF_CENTR2", "D", "pixel", "F10.5"),
    ("PSF_CENTR2_ERR", "E", "pixel", "E14.7"),
    ("MOM_CENTR1", "D", "pixel", "F10.5"),
    ("MOM_CENTR1_ERR", "E", "pixel", "E14.7"),
    ("MOM_CENTR2", "D", "pixel", "F10.5"),
    ("MOM_CENTR2_ERR", "E", "pixel", "E14.7"),
    ("POS_CORR1", "E", "pixels", "E14.7"),
    ("POS_CORR2", "E", "pixels", "E14.7"),
)


@dataclass(frozen=True)
class Mission:
    """What differs between Kepler and TESS light-curve files."""

    telescope: str  # TELESCOP keyword
    quality_column: str
    bjdrefi: int  # TIME = BJD - bjdrefi
    time_unit: str  # TUNIT of TIME as the archive writes it
    id_key: str  # header keyword of the target id
    cadence_days: float  # TIMEDEL of the long (Kepler) or 2-minute (TESS) cadence


MISSIONS: dict[str, Mission] = {
    "Kepler": Mission("Kepler", "SAP_QUALITY", 2454833, "BJD - 2454833", "KEPLERID", 0.02043359821692),
    "TESS": Mission("TESS", "QUALITY", 2457000, "BJD - 2457000, days", "TICID", 0.001388888888888889),
}


def lightcurve_columns(mission: str) -> tuple[tuple[str, str, str, str], ...]:
    """The 20 LIGHTCURVE columns (TTYPE, TFORM, TUNIT, TDISP) of ``mission`` ("Kepler" or "TESS")."""
    spec = MISSIONS[mission]
    return tuple(
        (
            spec.quality_column if name == _QUALITY else name,
            form,
            spec.time_unit if unit == _TIME_UNIT else unit,
            disp,
        )
        for name, form, unit, disp in _LIGHTCURVE_LAYOUT
    )


@dataclass
class SdssSpectrum:
    """One SDSS coadd: arrays of shape (n_pix,), the SPECOBJ summary values and the SPZLINE rows."""

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
    lines: list[dict[str, Any]] = field(default_factory=list)
    model: np.ndarray | None = None  # COADD "model": the pipeline's best fit, (n_pix,)
    # COADD "wdisp": line-spread function sigma in native pixels (1e-4 dex), (n_pix,); None: not in the file.
    wdisp: np.ndarray | None = None
    sky: np.ndarray | None = None  # COADD "sky": the subtracted sky, same unit as flux, (n_pix,)

    @property
    def filename(self) -> str:
        return f"spec-{self.plate:04d}-{self.mjd:05d}-{self.fiber:04d}.fits"


# FITS binary-table TFORM codes -> on-disk (big-endian) numpy types.
_TFORM_TYPES = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_TFORM = re.compile(r"(\d*)([BIJKEDA])")


def bintable_dtype(header: Mapping[str, Any]) -> np.dtype | None:
    """The on-disk row layout of a FITS binary table from its header, or None when it is not plain.

    Plain means fixed-width columns of the codes above, without TSCAL/TZERO/TDIM and with
    unique names: what the SDSS, Kepler and TESS tables use. Anything else (logical,
    variable-length, scaled or unsigned columns) is left to astropy.
    """
    fields: list[tuple[str, Any]] = []
    for n in range(1, int(header.get("TFIELDS", 0)) + 1):
        match = _TFORM.fullmatch(str(header.get(f"TFORM{n}", "")).strip())
        if match is None or any(f"{key}{n}" in header for key in ("TSCAL", "TZERO", "TDIM")):
            return None
        repeat, code = int(match[1] or 1), match[2]
        if repeat == 0:
            return None
        if code == "A":
            fields.append((str(header[f"TTYPE{n}"]), f"S{repeat}"))
        else:
            fields.append(
                (
                    str(header[f"TTYPE{n}"]),
                    (_TFORM_TYPES[code], (repeat,)) if repeat > 1 else _TFORM_TYPES[code],
                )
            )
    try:
        dtype = np.dtype(fields)
    except (TypeError, ValueError):  # duplicate or empty names
        return None
    return dtype if fields and dtype.itemsize == int(header.get("NAXIS1", -1)) else None
