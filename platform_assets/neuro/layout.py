"""Where each neuro asset keeps its files in the warehouse, for one session.

Every folder comes from ``Warehouse.asset_dir``, so a partition key that is not a single
safe path component is refused before any path is built from it. The layout is the
warehouse convention ``<root>/neuro/<asset>/<partition>/<file>``; the BIDS dataset is the
exception, one dataset root for every session as BIDS requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainstar.core.landing import PARTITION_KEY_PATTERN, parse_partition_key
from brainstar.domain.neuro import dwi_session
from brainstar.domain.neuro.bids import BidsDwi
from resources import Warehouse

DOMAIN = "neuro"


def cohort_table_path(warehouse: Warehouse) -> Path:
    return warehouse.file([DOMAIN, "cohort_table"], "cohort.parquet")


@dataclass(frozen=True)
class SessionOutputs:
    warehouse: Warehouse
    partition_key: str

    def folder(self, asset: str) -> Path:
        return self.warehouse.asset_dir([DOMAIN, asset], self.partition_key)

    @property
    def inventory(self) -> Path:
        return self.folder("raw_session") / "inventory.json"

    @property
    def bids(self) -> BidsDwi:
        subject, session = parse_partition_key(self.partition_key)
        return BidsDwi(self.warehouse.asset_dir([DOMAIN, "bids_session"]), subject, session)

    def preprocessed(self, name: str) -> Path:
        """``dwi.nii.gz``, ``mask.nii.gz``, ``dwi.bval``, ``dwi.bvec``, ``qc.json``, ``motion.csv``."""
        return self.folder("preprocessed_dwi") / name

    def dti_map(self, name: str) -> Path:
        return self.folder("dti_maps") / f"{name}.nii.gz"

    @property
    def regional_stats(self) -> Path:
        return self.folder("parcellation_stats") / "regional_stats.parquet"

    @property
    def labels(self) -> Path:
        return self.folder("parcellation_stats") / "labels.nii.gz"

    def connectome(self, suffix: str) -> Path:
        return self.folder("connectome") / f"connectome{suffix}"


def processed_sessions(warehouse: Warehouse) -> list[SessionOutputs]:
    """Sessions with both a preprocessing QC table and regional statistics, in key order."""
    root = warehouse.asset_dir([DOMAIN, "preprocessed_dwi"])
    folders = sorted(root.iterdir()) if root.is_dir() else []
    keys = [
        folder.name for folder in folders if folder.is_dir() and PARTITION_KEY_PATTERN.fullmatch(folder.name)
    ]
    sessions = [SessionOutputs(warehouse, key) for key in keys]
    return [s for s in sessions if s.preprocessed("qc.json").is_file() and s.regional_stats.is_file()]


def load_preprocessed(
    outputs: SessionOutputs,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(data, affine, bvals, rotated voxel-frame bvecs, mask) written by ``preprocessed_dwi``."""
    image = dwi_session.load_image(outputs.preprocessed("dwi.nii.gz"))
    mask = np.asarray(dwi_session.load_image(outputs.preprocessed("mask.nii.gz")).dataobj).astype(bool)
    bvals = dwi_session.read_bvals(outputs.preprocessed("dwi.bval"))
    bvecs = dwi_session.fsl_to_voxel_frame(
        dwi_session.read_bvecs(outputs.preprocessed("dwi.bvec")), image.affine
    )
    return np.asarray(image.get_fdata(dtype=np.float32)), image.affine, bvals, bvecs, mask
