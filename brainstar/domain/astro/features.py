"""Feature store: one Parquet table per modality, keyed by source id, versioned by content hash.

Spectra are keyed by ``specobjid`` and carry the Gaia ``source_id`` of their star
(positional cross-match, 1 arcsec), so repeat spectra of one star share a group; light
curves are keyed by ``kepler_id``; SED rows by Gaia ``source_id`` with the spectroscopic
Teff of the matched star as label.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from astropy import units as u
from astropy.coordinates import SkyCoord

from brainstar.core.atomic import atomic_path
from brainstar.domain.astro import label_catalogues, photometry

MATCH_RADIUS_ARCSEC = 1.0
VERSION_KEY = b"brainstar.content_version"
ARRAY_COLUMNS = ("flux", "bls_view", "ls_view")
LC_SCALARS = (
    "bls_period_days",
    "bls_duration_days",
    "bls_depth",
    "bls_sde",
    "bls_snr",
    "secondary_depth",
    "odd_even_diff",
    "ls_period_days",
    "ls_power",
    "norm_std",
    "flat_std",
    "noise_mad",
    "ls_coherence",
    "ls2_coherence",
    "ls_half_difference",
    "ls_second_power",
    "ls_second_ratio",
    "norm_skew",
    "secondary_snr",
    "binned_excess",
)


def content_version(frame: pd.DataFrame) -> str:
    """sha256 (16 hex) over column names and every value, arrays included; row order matters."""
    digest = hashlib.sha256()
    for name in frame.columns:
        digest.update(name.encode())
        column = frame[name]
        if name in ARRAY_COLUMNS:
            for value in column:
                digest.update(np.ascontiguousarray(value, dtype=np.float32).tobytes())
        else:
            digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def write_table(path: Path, frame: pd.DataFrame) -> str:
    """Write ``frame`` as Parquet with its content version in the schema metadata; returns the version."""
    version = content_version(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), VERSION_KEY: version.encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return version


def read_table(path: Path) -> tuple[pd.DataFrame, str]:
    """(frame with array columns as numpy arrays, content version from the metadata)."""
    table = pq.read_table(path)
    version = (table.schema.metadata or {}).get(VERSION_KEY, b"").decode()
    frame = table.to_pandas()
    for name in ARRAY_COLUMNS:
        if name in frame.columns:
            frame[name] = [np.asarray(v, dtype=np.float32) for v in frame[name]]
    return frame, version


def stack(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Array column -> (n_rows, n_values) float32."""
    return (
        np.stack(frame[column].to_list()).astype(np.float32) if len(frame) else np.zeros((0, 0), np.float32)
    )


def crossmatch(ra: np.ndarray, dec: np.ndarray, gaia: pd.DataFrame) -> np.ndarray:
    """Gaia source_id of the nearest Gaia row within MATCH_RADIUS_ARCSEC, else -1. Shape (n,)."""
    out = np.full(len(ra), -1, dtype=np.int64)
    if len(ra) == 0 or len(gaia) == 0:
        return out
    targets = SkyCoord(ra * u.deg, dec * u.deg)
    catalogue = SkyCoord(gaia["ra"].to_numpy() * u.deg, gaia["dec"].to_numpy() * u.deg)
    index, separation, _ = targets.match_to_catalog_sky(catalogue)
    close = separation.arcsec < MATCH_RADIUS_ARCSEC
    out[close] = gaia["source_id"].to_numpy()[index[close]]
    return out


def int64_key(ids: pd.Series | np.ndarray) -> np.ndarray:
    """64-bit ids as int64, bit for bit: SDSS ``specobjid`` is unsigned and BOSS plates above 8191 set
    its top bit, so a plain cast would wrap and a mix with signed ids would go through float64."""
    values = np.asarray(ids)
    return values.astype(np.uint64).view(np.int64) if values.dtype.kind == "u" else values.astype(np.int64)


def spectral_table(
    spectra: pd.DataFrame, gaia: pd.DataFrame, catalogues: Sequence[label_catalogues.LabelCatalogue] = ()
) -> pd.DataFrame:
    """Spectra with a Gaia ``source_id`` (the specobjid itself when unmatched) and valid labels, taken
    from the landed label catalogues before the files' ELODIE fits, and their ``label_source``."""
    frame = spectra.drop(columns=["file_size_bytes", "file_mtime_ns"]).copy()
    matched = crossmatch(frame["ra"].to_numpy(), frame["dec"].to_numpy(), gaia)
    frame.insert(0, "source_id", np.where(matched >= 0, matched, int64_key(frame["specobjid"])))
    frame = label_catalogues.label_spectra(frame, list(catalogues))
    labelled = frame[["teff_k", "logg_cgs", "feh_dex"]].notna().all(axis=1)
    return frame[labelled].sort_values("specobjid").reset_index(drop=True)


def lightcurve_table(lightcurves: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Light-curve features joined to the reference catalogue (kepid, class, period_days)."""
    frame = lightcurves.drop(columns=["file_size_bytes", "file_mtime_ns"])
    labels = labels.rename(
        columns={"kepid": "kepler_id", "class": "label_class", "period_days": "label_period"}
    )
    frame = frame.merge(labels[["kepler_id", "label_class", "label_period"]], on="kepler_id", how="inner")
    frame.insert(0, "source_id", frame["kepler_id"].astype(np.int64))
    return frame.sort_values("kepler_id").reset_index(drop=True)


def star_teff(spectral: pd.DataFrame, star_labels: pd.DataFrame) -> pd.DataFrame:
    """Teff per Gaia source_id with its ``label_source``: a per-star catalogue's value where there is
    one, else the mean over the star's labelled spectra (source ``spectra: <their first source>``)."""
    source = label_catalogues.LABEL_SOURCE
    if source not in spectral.columns:  # a spectral table from before label sources were recorded
        spectral = spectral.assign(**{source: "not recorded"})
    grouped = spectral.groupby("source_id")
    from_spectra = pd.DataFrame(
        {"teff_k": grouped["teff_k"].mean(), source: "spectra: " + grouped[source].first().astype(str)}
    )
    from_catalogue = star_labels.set_index("source_id")[["teff_k", source]]
    return from_catalogue.combine_first(from_spectra).rename_axis("source_id")


def sed_table(
    gaia: pd.DataFrame,
    spectral: pd.DataFrame,
    cuts: photometry.GaiaCuts,
    star_labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Gaia rows passing ``cuts``: SED features, what was applied to each row (zero-point, extinction,
    flux excess: photometry.QUALITY_COLUMNS) and the star's Teff (:func:`star_teff`)."""
    passing = gaia[cuts.mask(gaia)].drop_duplicates("source_id")
    features = photometry.sed_features(passing)
    frame = pd.concat([passing[["source_id"]], features, photometry.quality(passing)], axis=1)
    labels = star_teff(spectral, star_labels if star_labels is not None else label_catalogues.star_labels([]))
    frame = frame.merge(labels, left_on="source_id", right_index=True, how="inner")
    # The record columns are NaN where nothing was applied; only the model's inputs and label must be there.
    frame = frame.dropna(subset=[*photometry.SED_FEATURES, "teff_k"])
    return frame.sort_values("source_id").reset_index(drop=True)
