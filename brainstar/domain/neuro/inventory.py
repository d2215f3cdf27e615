"""The inventory of one landed session: what it holds and what its headers say, before any voxel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainstar.domain.neuro import dicom_headers, dwi_session


@dataclass(frozen=True)
class SessionInventory:
    record: dict[str, Any]  # format, source, files, headers: what raw_session writes as inventory.json
    summary: dict[str, Any]  # the few numbers shown as metadata

    @property
    def n_header_issues(self) -> int:
        return len(self.record["headers"]["issues"])


def inventory_session(session_dir: Path) -> SessionInventory:
    """DICOM (``dicom/``, checked on what dcm2niix converts) or NIfTI + FSL gradients.

    Raises ``SessionInputError`` naming the file when the session cannot be read at all;
    inconsistencies between readable files are listed in the headers' ``issues``.
    """
    if not session_dir.is_dir():
        raise dwi_session.SessionInputError(session_dir, "session folder is missing from the landing zone")
    if (session_dir / "dicom").is_dir():
        inventory = dicom_headers.inspect_dicom_series(session_dir / "dicom")
        files: dict[str, Path] = dwi_session.optional_files(session_dir)
        headers, fmt, source = inventory.as_dict(), "dicom", session_dir / "dicom"
        summary: dict[str, Any] = {"n_volumes": inventory.n_volumes, "n_files": inventory.n_files}
    else:
        nifti = dwi_session.find_nifti_session(session_dir)
        report, _, _ = dwi_session.inspect_headers(nifti)
        files = {name: path for name, path in vars(nifti).items() if path is not None}
        headers, fmt, source = report.as_dict(), "nifti", session_dir
        summary = {
            "n_volumes": report.n_volumes,
            "n_b0": report.n_b0,
            "bvalue_max_s_per_mm2": report.bvalue_max,
        }
    record = {
        "format": fmt,
        "source": str(source),
        "files": {name: str(path) for name, path in files.items()},
        "headers": headers,
    }
    return SessionInventory(record, summary)
