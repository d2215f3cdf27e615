"""Where each neuro asset keeps its files in the warehouse, for one session.

The layout is the warehouse convention ``<root>/neuro/<asset>/<partition>/<file>``; the BIDS
dataset is the exception, one dataset root for every session as BIDS requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brainstar.core.landing import parse_partition_key
from brainstar.domain.neuro.bids import BidsDwi


@dataclass(frozen=True)
class SessionOutputs:
    warehouse_root: Path
    partition_key: str

    def folder(self, asset: str) -> Path:
        return self.warehouse_root / "neuro" / asset / self.partition_key

    @property
    def inventory(self) -> Path:
        return self.folder("raw_session") / "inventory.json"

    @property
    def bids(self) -> BidsDwi:
        subject, session = parse_partition_key(self.partition_key)
        return BidsDwi(self.warehouse_root / "neuro" / "bids_session", subject, session)

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
