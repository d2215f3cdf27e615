"""Converting a DICOM diffusion series to NIfTI with dcm2niix.

``convert_dicom_to_nifti`` runs the dcm2niix binary shipped by the ``dcm2niix`` PyPI package
and moves its outputs into place atomically. Geometry conventions are in
:mod:`brainstar.domain.neuro.dicom_conventions`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from brainstar.core.atomic import atomic_path
from brainstar.domain.neuro.dwi_session import SessionInputError

DCM2NIIX_TIMEOUT_S = 300.0
# dcm2niix's exit codes (console/nii_dicom.h), so a failure says more than a number.
DCM2NIIX_EXIT_MEANINGS = {
    1: "unspecified error",
    2: "no valid DICOM files found",
    4: "corrupt file found",
    5: "input folder invalid",
    6: "output folder invalid",
    7: "output folder read-only",
    8: "some series converted, some failed",
    9: "rename error",
    10: "incomplete volumes found",
}
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# The files dcm2niix writes for one series, the image last: it is moved into place last.
SERIES_SUFFIXES = (".bval", ".bvec", ".json", ".nii.gz")


@dataclass(frozen=True)
class ConvertedSeries:
    """The files dcm2niix wrote for one series: ``<stem>`` plus each of ``SERIES_SUFFIXES`` in ``folder``.

    ``version`` is the dcm2niix that wrote them and ``messages`` its console lines (banner
    left out), so that what it said about the series (warnings above all) can be recorded.
    """

    folder: Path
    stem: str
    version: str = ""
    messages: tuple[str, ...] = ()

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.messages if line.lower().startswith("warning")]

    def path(self, suffix: str) -> Path:
        return self.folder / f"{self.stem}{suffix}"

    def paths(self) -> list[Path]:
        return [self.path(suffix) for suffix in SERIES_SUFFIXES]

    @property
    def nifti(self) -> Path:
        return self.path(".nii.gz")

    @property
    def bval(self) -> Path:
        return self.path(".bval")

    @property
    def bvec(self) -> Path:
        return self.path(".bvec")


def dcm2niix_binary() -> Path:
    """The dcm2niix executable shipped by the ``dcm2niix`` PyPI package.

    Located through the package itself (``dcm2niix.bin_path``), falling back to the
    ``dcm2niix`` launcher beside ``sys.executable``, so it works without an activated venv.
    """
    try:
        import dcm2niix  # the PyPI wrapper: its package folder holds the binary

        candidate = Path(dcm2niix.bin_path)
    except (ImportError, AttributeError):
        candidate = Path(sys.executable).parent / "dcm2niix"
    if not (candidate.is_file() and os.access(candidate, os.X_OK)):
        raise FileNotFoundError(f"dcm2niix binary not found at {candidate}: pip install dcm2niix")
    return candidate


def dcm2niix_version() -> str:
    """The version string dcm2niix reports, e.g. ``v1.0.20260724``."""
    result = subprocess.run(
        [str(dcm2niix_binary()), "--version"], capture_output=True, text=True, check=False
    )
    return _version_in(result.stdout + result.stderr)


def _version_in(text: str) -> str:
    found = re.search(r"v\d+\.\d+\.\d+\S*", text)
    return found.group(0) if found else text.strip()


def convert_dicom_to_nifti(dicom_dir: Path, out_dir: Path, stem: str) -> ConvertedSeries:
    """Convert the one diffusion series in ``dicom_dir`` to ``<stem>.nii.gz/.bval/.bvec/.json``.

    dcm2niix writes only into a private temporary folder inside ``out_dir`` (never into
    ``dicom_dir``); each result is then renamed into place atomically, the image last, so a
    ``<stem>.nii.gz`` is only ever seen next to its gradients and sidecar. Existing files of
    the same names are replaced. Only files directly in ``dicom_dir`` are read (``-d 0``).

    Raises:
        SessionInputError: naming ``dicom_dir`` and dcm2niix's message, when dcm2niix fails,
            writes nothing, finds more than one series, or finds no diffusion gradients.
    """
    if not _STEM.match(stem):
        raise ValueError(f"stem {stem!r} must be a plain file name (letters, digits, '.', '_', '-')")
    if not dicom_dir.is_dir():
        raise SessionInputError(dicom_dir, "DICOM folder does not exist")
    binary = dcm2niix_binary()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{stem}.dcm2niix-") as scratch_name:
        scratch = Path(scratch_name)
        work = scratch / "out"
        work.mkdir()
        command = [
            str(binary),
            *("-f", stem),
            *("-o", str(work)),
            *("-z", "i"),  # built-in zlib: no dependency on a pigz binary
            *("-b", "y"),
            *("-ba", "y"),
            *("-d", "0"),
            *("-w", "2"),  # a second series gets a suffix instead of overwriting the first
            *("-v", "0"),
            str(dicom_dir),
        ]
        # HOME points at the scratch folder so no user ~/.dcm2nii.ini changes the options.
        env = {**os.environ, "HOME": str(scratch)}
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, check=False, env=env, timeout=DCM2NIIX_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as exc:
            raise SessionInputError(
                dicom_dir, f"dcm2niix ran longer than {DCM2NIIX_TIMEOUT_S:.0f} s"
            ) from exc
        console = result.stdout + result.stderr
        # The scratch folder is gone once this returns: messages name outputs by file name only.
        lines = _console_lines(console.replace(f"{work}{os.sep}", ""))
        message = _tail(lines)
        if result.returncode != 0:
            meaning = DCM2NIIX_EXIT_MEANINGS.get(result.returncode, "unknown exit code")
            raise SessionInputError(
                dicom_dir, f"dcm2niix exited with {result.returncode} ({meaning}): {message}"
            )
        images = sorted(work.glob("*.nii.gz"))
        if not images:
            raise SessionInputError(dicom_dir, f"dcm2niix wrote no image: {message}")
        if len(images) > 1:
            names = ", ".join(p.name for p in images)
            raise SessionInputError(dicom_dir, f"more than one series converted ({names}): {message}")
        produced_stem = images[0].name[: -len(".nii.gz")]
        sources = {ext: work / f"{produced_stem}{ext}" for ext in SERIES_SUFFIXES}
        missing = [ext for ext, path in sources.items() if not path.is_file()]
        if missing:
            raise SessionInputError(
                dicom_dir,
                f"dcm2niix wrote no {', '.join(missing)} (no diffusion gradients found?): {message}",
            )
        converted = ConvertedSeries(out_dir, stem, _version_in(console), tuple(lines))
        for ext, source in sources.items():
            with atomic_path(converted.path(ext)) as tmp:
                os.replace(source, tmp)  # same file system: the scratch folder is inside out_dir
    return converted


def _console_lines(text: str) -> list[str]:
    """dcm2niix's non-empty output lines, without its version banner."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [line for line in lines if not line.startswith("Chris Rorden's dcm2niiX")]


def _tail(lines: list[str], limit: int = 800) -> str:
    """dcm2niix's output lines joined on one line, at most ``limit`` characters."""
    text = " | ".join(lines) or "(no output)"
    return text if len(text) <= limit else "..." + text[-limit:]
