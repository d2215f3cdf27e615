"""Reading and validating one landed diffusion session (NIfTI + FSL gradients).

Errors are :class:`SessionInputError`, whose message names the file and the problem, so
that a failed partition tells the user exactly what to fix in the landing zone.
"""

from __future__ import annotations

import gzip
import shutil
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from brainstar.core import settings
from brainstar.core.atomic import atomic_path
from brainstar.core.errors import NamedInputError
from brainstar.domain.neuro import nifti

B0_THRESHOLD = 50.0  # s/mm^2: volumes at or below this are b0 (dipy's default)
PLAUSIBLE_MAX_BVALUE = 30_000.0  # s/mm^2: ex-vivo scanners reach ~20,000; beyond is a unit error
UNIT_NORM_TOLERANCE = 0.02


class SessionInputError(NamedInputError):
    """A landed file is missing, unreadable or inconsistent. The message names the file."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path


@dataclass(frozen=True)
class DwiFiles:
    dwi: Path
    bval: Path
    bvec: Path
    labels: Path | None = None
    t1w: Path | None = None


@dataclass
class HeaderReport:
    """What the headers say, and every inconsistency found (empty ``issues`` means consistent)."""

    shape: list[int]
    n_volumes: int
    voxel_size_mm: list[float]
    n_bvals: int
    n_bvecs: int
    n_b0: int
    bvalue_max: float
    bvec_norm_max_deviation: float
    affine_determinant: float
    issues: list[str] = field(default_factory=list)
    # b0 volumes whose b-vector was NaN in the file and is read as zero: a convention, not an issue
    normalised_b0_rows: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def find_nifti_session(session_dir: Path) -> DwiFiles:
    missing = [name for name in ("dwi.nii.gz", "dwi.bval", "dwi.bvec") if not (session_dir / name).is_file()]
    if missing:
        raise SessionInputError(session_dir, f"no DWI found: missing {', '.join(missing)}")
    return DwiFiles(
        dwi=session_dir / "dwi.nii.gz",
        bval=session_dir / "dwi.bval",
        bvec=session_dir / "dwi.bvec",
        **optional_files(session_dir),
    )


def optional_files(session_dir: Path) -> dict[str, Path]:
    """The optional images a session brought, whatever its DWI format: ``labels``, ``t1w``."""
    candidates = {"labels": session_dir / "labels.nii.gz", "t1w": session_dir / "T1w.nii.gz"}
    return {name: path for name, path in candidates.items() if path.is_file()}


def read_bvals(path: Path) -> np.ndarray:
    values = _read_numbers(path)
    if values.ndim != 1 and min(values.shape) != 1:
        raise SessionInputError(path, f"expected one row of b-values, found shape {values.shape}")
    values = values.ravel()
    bad = np.flatnonzero(~np.isfinite(values)).tolist()
    if bad:
        raise SessionInputError(path, f"b-values of volumes {bad} are NaN or infinite")
    return values


def read_bvecs(path: Path) -> np.ndarray:
    """Return finite b-vectors as (N, 3): for files this package wrote, or normalised already.

    A landed file goes through :func:`read_bvec_table` and :func:`normalise_b0_rows`, which
    accept what converters write on b0 rows.
    """
    vectors = read_bvec_table(path)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1)).tolist()
    if bad:
        raise SessionInputError(path, f"b-vectors of volumes {bad} are NaN or infinite")
    return vectors


def read_bvec_table(path: Path) -> np.ndarray:
    """B-vectors as (N, 3), NaN kept; FSL files hold three rows, some tools write three columns."""
    values = _read_numbers(path)
    if values.ndim == 2 and values.shape[0] == 3:
        return values.T
    if values.ndim == 2 and values.shape[1] == 3:
        return values
    raise SessionInputError(
        path, f"expected 3 rows of b-vectors (FSL convention), found shape {values.shape}"
    )


def normalise_b0_rows(path: Path, bvecs: np.ndarray, bvals: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Zero the non-finite b-vectors of b0 volumes; refuse them on diffusion-weighted ones.

    A b0 volume has no gradient direction, and several tools write NaN there (dipy's own
    small_64D does; dipy ignores b0 directions). On a diffusion-weighted volume a NaN
    direction makes the volume unusable, so the file is refused, naming the volumes.
    Returns the vectors and the indices of the b0 rows that were zeroed.
    """
    if len(bvecs) != len(bvals):
        raise SessionInputError(path, f"{len(bvecs)} b-vectors for {len(bvals)} b-values")
    non_finite = ~np.isfinite(bvecs).all(axis=1)
    is_b0 = bvals <= B0_THRESHOLD
    weighted = np.flatnonzero(non_finite & ~is_b0).tolist()
    if weighted:
        raise SessionInputError(
            path,
            f"b-vectors of volumes {weighted} are NaN or infinite but their b-values are above "
            f"{B0_THRESHOLD:g} s/mm^2",
        )
    zeroed = np.flatnonzero(non_finite).tolist()
    vectors = np.array(bvecs, dtype=float, copy=True)
    vectors[zeroed] = 0.0
    return vectors, zeroed


def copy_bvecs(source: Path, bvals: np.ndarray, target: Path) -> list[int]:
    """Copy a landed b-vector file to ``target``, rewritten (FSL rows) if b0 rows needed zeroing.

    Every reader after the landing zone is strict (:func:`read_bvecs`), so the copy must
    hold finite numbers; an already clean file is copied byte for byte.
    """
    vectors, zeroed = normalise_b0_rows(source, read_bvec_table(source), bvals)
    with atomic_path(target) as tmp:
        if zeroed:
            np.savetxt(tmp, vectors.T, fmt="%.10g")
        else:
            shutil.copyfile(source, tmp)
    return zeroed


def _read_numbers(path: Path) -> np.ndarray:
    """The numbers of a whitespace-separated text file, one array row per line (NaN allowed)."""
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
        lengths = {len(row) for row in rows}
        if len(lengths) > 1:
            raise SessionInputError(path, f"rows have different lengths {sorted(lengths)}")
        values = np.array(rows, dtype=float)
    except (OSError, UnicodeDecodeError) as error:
        raise SessionInputError(path, f"unreadable ({error})") from error
    except ValueError as error:
        if isinstance(error, SessionInputError):
            raise
        raise SessionInputError(path, f"not numeric ({error})") from error
    if values.size == 0:
        raise SessionInputError(path, "file is empty")
    return values.squeeze(0) if values.shape[0] == 1 else values


def load_image(path: Path, memory_budget_bytes: int | None = None):  # -> nibabel.Nifti1Image (lazy import)
    """Load a NIfTI image and force its data through, so truncation is found here.

    The header is checked first (:func:`nifti.header_problem`: empty axes, complex or RGB voxels,
    voxel sizes, the read size against ``memory_budget_bytes``, by default
    ``settings.nifti_memory_budget_bytes``), so a header claiming 30000^3 voxels is refused
    by name instead of ending in a MemoryError. Any other failure to read names the file.
    """
    import nibabel as nib

    budget = settings.nifti_memory_budget_bytes() if memory_budget_bytes is None else memory_budget_bytes
    try:
        image = nib.load(path)
        problem = nifti.header_problem(nifti.stored_header(path, type(image.header)), budget)
    except MemoryError:
        raise
    except Exception as error:  # nibabel raises OSError, ValueError, HeaderDataError... for broken files
        raise _unreadable(path, error) from error
    if problem:
        raise SessionInputError(path, problem)
    if not np.all(np.isfinite(image.affine)):
        raise SessionInputError(path, "voxel-to-world affine (sform/qform) holds NaN or infinite values")
    try:
        image.get_fdata(dtype=np.float32)  # nibabel is lazy: a truncated gzip only fails on read
    except MemoryError:
        raise
    except Exception as error:
        raise _unreadable(path, error) from error
    return image


def _unreadable(path: Path, error: Exception) -> SessionInputError:
    # nibabel's messages may span lines ("got 3408 bytes from\n - could the file be damaged?").
    text = " ".join(str(error).split())
    if isinstance(error, (EOFError, zlib.error, gzip.BadGzipFile)):
        return SessionInputError(path, f"truncated or corrupt gzip stream ({text})")
    return SessionInputError(path, f"not a readable NIfTI image ({type(error).__name__}: {text})")


def inspect_headers(files: DwiFiles) -> tuple[HeaderReport, np.ndarray, np.ndarray]:
    """Read headers and gradients; return the report plus (bvals, bvecs) for later stages.

    Raises for what makes the session unusable (unreadable files, counts that do not
    match the 4th dimension); records softer problems as ``issues`` for the QC check.
    """
    image = load_image(files.dwi)
    bvals = read_bvals(files.bval)
    bvecs = read_bvec_table(files.bvec)
    if image.ndim != 4:
        raise SessionInputError(
            files.dwi, f"expected a 4-D diffusion series, found {image.ndim}-D {image.shape}"
        )
    n_volumes = int(image.shape[3])
    if len(bvals) != n_volumes:
        raise SessionInputError(
            files.bval, f"{len(bvals)} b-values for {n_volumes} volumes in {files.dwi.name}"
        )
    if len(bvecs) != n_volumes:
        raise SessionInputError(
            files.bvec, f"{len(bvecs)} b-vectors for {n_volumes} volumes in {files.dwi.name}"
        )
    bvecs, zeroed = normalise_b0_rows(files.bvec, bvecs, bvals)

    data = image.get_fdata(dtype=np.float32)  # cached by load_image: no second decode
    nan_volumes = [i for i in range(n_volumes) if not np.all(np.isfinite(data[..., i]))]
    if nan_volumes:
        raise SessionInputError(files.dwi, f"volumes {nan_volumes} contain NaN or infinite values")

    is_b0 = bvals <= B0_THRESHOLD
    norms = np.linalg.norm(bvecs[~is_b0], axis=1)
    deviation = float(np.max(np.abs(norms - 1.0))) if norms.size else 0.0
    affine = image.affine
    report = HeaderReport(
        shape=[int(s) for s in image.shape],
        n_volumes=n_volumes,
        voxel_size_mm=[round(float(z), 4) for z in image.header.get_zooms()[:3]],
        n_bvals=len(bvals),
        n_bvecs=len(bvecs),
        n_b0=int(is_b0.sum()),
        bvalue_max=float(bvals.max()),
        bvec_norm_max_deviation=deviation,
        affine_determinant=float(np.linalg.det(affine[:3, :3])),
        normalised_b0_rows=zeroed,
        notes=[f"{files.bvec.name}: NaN b-vectors of b0 volumes {zeroed} read as zero vectors"]
        if zeroed
        else [],
    )
    report.issues.extend(_plausibility_issues(report, bvals))
    return report, bvals, bvecs


def _plausibility_issues(report: HeaderReport, bvals: np.ndarray) -> list[str]:
    issues = []
    if report.n_b0 == 0:
        issues.append(f"no b0 volume (no b-value <= {B0_THRESHOLD:g} s/mm^2)")
    negative = np.flatnonzero(bvals < 0).tolist()
    if negative:
        issues.append(f"negative b-values in volumes {negative}")
    if report.bvalue_max > PLAUSIBLE_MAX_BVALUE:
        issues.append(f"max b-value {report.bvalue_max:g} s/mm^2 is implausible (units?)")
    if report.n_volumes - report.n_b0 < 6:
        issues.append(f"{report.n_volumes - report.n_b0} diffusion-weighted volumes; a tensor needs 6")
    if report.bvec_norm_max_deviation > UNIT_NORM_TOLERANCE:
        issues.append(f"b-vectors deviate from unit length by up to {report.bvec_norm_max_deviation:.3f}")
    if abs(report.affine_determinant) < 1e-6:
        issues.append("affine is singular")
    if any(z <= 0 or z > 10 for z in report.voxel_size_mm):
        issues.append(f"voxel size {report.voxel_size_mm} mm is implausible")
    return issues


def fsl_to_voxel_frame(bvecs: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """FSL b-vectors <-> voxel-frame vectors (its own inverse).

    FSL (and dcm2niix) store b-vectors in a radiological voxel frame: x is negated when
    the voxel-to-world matrix has a positive determinant. dipy expects plain voxel-frame
    vectors, so every file read for dipy and every file written from it goes through here.
    """
    vectors = np.array(bvecs, dtype=float, copy=True)
    if np.linalg.det(affine[:3, :3]) > 0:
        vectors[:, 0] = -vectors[:, 0]
    return vectors
