"""A BIDS raw dataset for converted sessions: layout, sidecars and a layout validator.

One dataset root holds every session (``sub-X/ses-Y/dwi/sub-X_ses-Y_dwi.*``), as the
BIDS specification (1.9) lays out a multi-session study. NIfTI input is copied in with a
sidecar written by us; DICOM input is converted by dcm2niix, whose sidecar is kept.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainstar.core.atomic import atomic_path, write_json_atomic
from brainstar.domain.neuro import dwi_session

BIDS_VERSION = "1.9.0"
DWI_SUFFIXES = (".nii.gz", ".bval", ".bvec", ".json")
ENTITY_NAME = re.compile(r"sub-[A-Za-z0-9]+_ses-[A-Za-z0-9]+_dwi")


@dataclass(frozen=True)
class BidsDwi:
    root: Path
    subject: str
    session: str

    @property
    def folder(self) -> Path:
        return self.root / f"sub-{self.subject}" / f"ses-{self.session}" / "dwi"

    @property
    def stem(self) -> str:
        return f"sub-{self.subject}_ses-{self.session}_dwi"

    def path(self, suffix: str) -> Path:
        return self.folder / f"{self.stem}{suffix}"

    @property
    def files(self) -> dwi_session.DwiFiles:
        return dwi_session.DwiFiles(
            dwi=self.path(".nii.gz"), bval=self.path(".bval"), bvec=self.path(".bvec")
        )


def ensure_dataset_description(root: Path) -> Path:
    path = root / "dataset_description.json"
    if not path.exists():
        write_json_atomic(
            path,
            {
                "Name": "brainstar diffusion sessions",
                "BIDSVersion": BIDS_VERSION,
                "DatasetType": "raw",
                "GeneratedBy": [{"Name": "brainstar", "Description": "landing zone to BIDS conversion"}],
            },
        )
    return path


def copy_nifti_session(files: dwi_session.DwiFiles, target: BidsDwi, header: dict[str, object]) -> BidsDwi:
    """Copy NIfTI + FSL gradients into the BIDS layout and write the sidecar JSON."""
    ensure_dataset_description(target.root)
    # NaN b-vectors on b0 rows are zeroed in the copy: every reader after the landing zone is strict.
    dwi_session.copy_bvecs(files.bvec, dwi_session.read_bvals(files.bval), target.path(".bvec"))
    for source, suffix in ((files.bval, ".bval"), (files.dwi, ".nii.gz")):
        with atomic_path(target.path(suffix)) as tmp:
            shutil.copyfile(source, tmp)
    write_json_atomic(
        target.path(".json"),
        {
            "Sources": [str(files.dwi.name), str(files.bval.name), str(files.bvec.name)],
            "GeneratedBy": "brainstar bids_session (NIfTI input copied)",
            "VoxelSizeMm": header["voxel_size_mm"],
            "NumberOfVolumes": header["n_volumes"],
            "MaxBValue": header["bvalue_max"],
        },
    )
    return target


def place_converted_series(converted_files: list[Path], target: BidsDwi) -> BidsDwi:
    """Move dcm2niix's ``<stem>.*`` outputs (already in the dataset tree) under their BIDS names."""
    ensure_dataset_description(target.root)
    for path in converted_files:
        suffix = next(s for s in DWI_SUFFIXES if path.name.endswith(s))
        if path != target.path(suffix):
            path.replace(target.path(suffix))
    return target


def validate_layout(target: BidsDwi) -> list[str]:
    """Problems with one session's BIDS files; empty when the layout is valid."""
    problems = []
    description = target.root / "dataset_description.json"
    if not description.is_file():
        problems.append("dataset_description.json is missing")
    else:
        fields = json.loads(description.read_text())
        problems += [
            f"dataset_description.json lacks {key}" for key in ("Name", "BIDSVersion") if key not in fields
        ]
    if not ENTITY_NAME.fullmatch(target.stem):
        problems.append(f"{target.stem} does not follow sub-<label>_ses-<label>_dwi")
    missing = [target.path(s).name for s in DWI_SUFFIXES if not target.path(s).is_file()]
    if missing:
        return [*problems, f"missing {', '.join(missing)}"]
    extra = sorted(p.name for p in target.folder.iterdir() if not p.name.startswith(target.stem))
    if extra:
        problems.append(f"unexpected files in dwi/: {', '.join(extra)}")
    try:
        json.loads(target.path(".json").read_text())
    except json.JSONDecodeError as error:
        problems.append(f"{target.path('.json').name} is not valid JSON ({error})")
    import nibabel as nib

    n_volumes = nib.load(target.path(".nii.gz")).shape[-1]
    n_bvals = len(dwi_session.read_bvals(target.path(".bval")))
    n_bvecs = len(dwi_session.read_bvecs(target.path(".bvec")))
    if not n_volumes == n_bvals == n_bvecs:
        problems.append(f"{n_volumes} volumes, {n_bvals} b-values, {n_bvecs} b-vectors")
    return problems


def load_series(target: BidsDwi) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(data (X, Y, Z, N) float32, affine, bvals (N,), voxel-frame bvecs (N, 3)) of a BIDS session."""
    image = dwi_session.load_image(target.path(".nii.gz"))
    data = np.asarray(image.get_fdata(dtype=np.float32))
    bvals = dwi_session.read_bvals(target.path(".bval"))
    bvecs = dwi_session.fsl_to_voxel_frame(dwi_session.read_bvecs(target.path(".bvec")), image.affine)
    return data, image.affine, bvals, bvecs
