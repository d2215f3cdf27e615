"""Deterministic tractography on tensor peaks and the region-by-region streamline counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainstar.domain.neuro.gradients import gradient_table
from brainstar.domain.neuro.reconstruction import DEFAULT_MAX_BVALUE, select_shells

FA_STOP = 0.2  # streamlines end where FA drops below this (a common white-matter threshold)
FA_SEED = 0.3


@dataclass
class Connectome:
    matrix: np.ndarray  # (R+1, R+1) streamline counts, row/column 0 is background
    n_streamlines: int
    n_seeds: int

    @property
    def regions(self) -> np.ndarray:
        return self.matrix[1:, 1:]


def track(
    data: np.ndarray,
    bvals: np.ndarray,
    bvecs: np.ndarray,
    mask: np.ndarray,
    fa: np.ndarray,
    affine: np.ndarray,
    seed_density: int = 1,
    step_mm: float = 0.5,
    random_seed: int = 0,
    max_bvalue: float = DEFAULT_MAX_BVALUE,
) -> tuple[list[np.ndarray], int]:
    """EuDX-style deterministic tracking on tensor peaks: (streamlines in mm (world) space, seeds).

    The peaks come from a tensor fitted to the shells ``select_shells`` keeps for
    ``max_bvalue``, the same volumes the ``dti_maps`` fit used.
    """
    from dipy.data import default_sphere
    from dipy.direction import peaks_from_model
    from dipy.reconst.dti import TensorModel
    from dipy.tracking import utils
    from dipy.tracking.local_tracking import LocalTracking
    from dipy.tracking.stopping_criterion import ThresholdStoppingCriterion
    from dipy.tracking.streamline import Streamlines

    keep = select_shells(bvals, max_bvalue).volumes
    # FA as the fit wrote it may hold NaN where the fit failed: such a voxel stops a streamline.
    fa = np.nan_to_num(fa, nan=0.0)
    peaks = peaks_from_model(
        TensorModel(gradient_table(bvals[keep], bvecs[keep])),
        data if keep.all() else data[..., keep],
        default_sphere,
        relative_peak_threshold=0.5,
        min_separation_angle=25,
        mask=mask,
        npeaks=1,
    )
    seeds = utils.seeds_from_mask(mask & (fa > FA_SEED), affine, density=seed_density)
    generator = LocalTracking(
        peaks,
        ThresholdStoppingCriterion(fa, FA_STOP),
        seeds,
        affine,
        step_size=step_mm,
        random_seed=random_seed,
    )
    return list(Streamlines(generator)), len(seeds)


def connectome(
    streamlines: list[np.ndarray], affine: np.ndarray, labels: np.ndarray, n_seeds: int
) -> Connectome:
    from dipy.tracking.utils import connectivity_matrix

    if streamlines:
        matrix = connectivity_matrix(streamlines, affine, labels.astype(np.int64), symmetric=True)
    else:
        matrix = np.zeros((int(labels.max()) + 1,) * 2, dtype=np.int64)
    return Connectome(np.asarray(matrix, dtype=np.int64), len(streamlines), n_seeds)
