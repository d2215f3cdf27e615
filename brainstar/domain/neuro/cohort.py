"""The cohort table (one row per processed session) and robust outlier flags across it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

QC_METRICS = ("fd_mean_mm", "fd_max_mm", "ndc_preprocessed", "snr_b0_in_mask", "mask_fraction")
MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its SD (robust z-score)


def collect(sessions: Iterable[tuple[str, Path, Path]]) -> pd.DataFrame:
    """One row per ``(session, qc.json, regional_stats.parquet)``: QC values and regional means."""
    rows = []
    for session, qc_path, stats_path in sessions:
        row: dict[str, object] = {"session": session, **json.loads(qc_path.read_text())}
        stats = pd.read_parquet(stats_path)
        for record in stats[stats["map"].isin(["fa", "md"])].itertuples():
            row[f"{record.map}_mean_region_{record.region}"] = record.mean
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["session", *QC_METRICS])


def robust_z_scores(values: pd.Series) -> pd.Series:
    """(x - median) / (1.4826 MAD); zero where the MAD is zero and the value is the median."""
    median = values.median()
    mad = (values - median).abs().median() * MAD_TO_SD
    if not np.isfinite(mad) or mad == 0:
        return (values - median).apply(lambda d: 0.0 if d == 0 else np.inf * np.sign(d))
    return (values - median) / mad


# The fewest sessions for which a median and a MAD mean anything.
MIN_SESSIONS_FOR_OUTLIERS = 3


def outliers(table: pd.DataFrame, threshold: float, metrics: tuple[str, ...] = QC_METRICS) -> pd.DataFrame:
    """Sessions whose robust z-score on any QC metric exceeds ``threshold`` in magnitude (none
    below ``MIN_SESSIONS_FOR_OUTLIERS`` sessions: there is no cohort to stand out from)."""
    flagged = []
    for metric in metrics:
        if metric not in table or len(table) < MIN_SESSIONS_FOR_OUTLIERS:
            continue
        z = robust_z_scores(table[metric].astype(float))
        for index in z.index[z.abs() > threshold]:
            flagged.append(
                {"session": table.at[index, "session"], "metric": metric, "robust_z": float(z[index])}
            )
    return pd.DataFrame(flagged, columns=["session", "metric", "robust_z"])
