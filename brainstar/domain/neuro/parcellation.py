"""Regional statistics of scalar maps over a label image (QSIParc's table), and the fallback labels.

Fallback when a session has no ``labels.nii.gz``: the brain mask is cut at its centre of
mass into octants (left/right x anterior/posterior x inferior/superior in voxel axes).
No atlas can be fetched on the lab's offline machines and registration to a template is
a pipeline of its own; octants are reproducible, cover every masked voxel, and give
lateralised regional QC and connectome nodes. They are not anatomical regions, and the
table says which label source was used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STAT_COLUMNS = ("mean", "median", "sd", "iqr", "n_voxels", "coverage")


def octant_labels(mask: np.ndarray) -> np.ndarray:
    """Labels 1..8 for the octants of ``mask`` around its centre of mass; 0 outside."""
    if not mask.any():
        raise ValueError("brain mask is empty: no regions can be defined")
    centre = np.array(np.nonzero(mask)).mean(axis=1)
    grid = np.indices(mask.shape)
    upper = [grid[axis] >= centre[axis] for axis in range(3)]
    labels = 1 + upper[0].astype(np.int16) + 2 * upper[1] + 4 * upper[2]
    return np.where(mask, labels, 0).astype(np.int16)


def regional_stats(maps: dict[str, np.ndarray], labels: np.ndarray, mask: np.ndarray) -> pd.DataFrame:
    """One row per (region, map): mean, median, SD, IQR over masked voxels, their count, and coverage.

    ``coverage`` is the fraction of the region's voxels that lie in the brain mask with a
    finite value: a region mostly outside the mask is flagged by a low coverage.
    """
    rows = []
    for region in np.unique(labels[labels > 0]):
        in_region = labels == region
        for name, values in maps.items():
            usable = in_region & mask & np.isfinite(values)
            sample = values[usable].astype(float)
            q1, q3 = np.percentile(sample, [25, 75]) if sample.size else (np.nan, np.nan)
            rows.append(
                {
                    "region": int(region),
                    "map": name,
                    "mean": float(sample.mean()) if sample.size else np.nan,
                    "median": float(np.median(sample)) if sample.size else np.nan,
                    "sd": float(sample.std(ddof=1)) if sample.size > 1 else np.nan,
                    "iqr": float(q3 - q1),
                    "n_voxels": int(usable.sum()),
                    "coverage": float(usable.sum() / in_region.sum()),
                }
            )
    return pd.DataFrame(rows, columns=["region", "map", *STAT_COLUMNS])
