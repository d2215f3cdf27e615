"""``brainstar demo-data``: a small synthetic landing zone in the real formats.

Deterministic from a seed. Each domain contributes a writer; the frame runs them and
writes every writer's ground truth into ``ground_truth.json`` at the landing root
(outside ``neuro/`` and ``astro/``, so no scanner mistakes it for landed data).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainstar.core.atomic import write_json_atomic, write_text_atomic

GROUND_TRUTH_FILE = "ground_truth.json"

DomainWriter = Callable[[Path, int], dict[str, Any]]


@dataclass(frozen=True)
class DemoSession:
    subject: str
    session: str
    input_format: str  # "nifti", "dicom", or "broken": NIfTI whose bvec lacks two volumes
    seed_offset: int


DEMO_SESSIONS = (
    DemoSession("01", "01", "nifti", 1),
    DemoSession("02", "01", "dicom", 2),
    DemoSession("03", "01", "broken", 3),
)


def write_neuro_sessions(landing_root: Path, seed: int) -> dict[str, Any]:
    """Phantom sessions with known FA per region: one NIfTI, one DICOM, one deliberately broken."""
    from brainstar.demo.neuro.phantom import PhantomSpec, write_dicom_session, write_nifti_session

    spec = PhantomSpec()
    truth: dict[str, Any] = {}
    for demo in DEMO_SESSIONS:
        folder = landing_root / "neuro" / f"sub-{demo.subject}" / f"ses-{demo.session}"
        key = f"sub-{demo.subject}_ses-{demo.session}"
        if demo.input_format == "dicom":
            truth[key] = write_dicom_session(
                folder, spec, seed + demo.seed_offset, demo.subject, demo.session
            )
        else:
            truth[key] = write_nifti_session(folder, spec, seed + demo.seed_offset)
        if demo.input_format == "broken":
            bvec = folder / "dwi.bvec"
            rows = bvec.read_text().splitlines()
            write_text_atomic(bvec, "\n".join(" ".join(row.split()[:-2]) for row in rows) + "\n")
            truth[key]["expected_failure"] = f"{bvec.name} has 2 fewer b-vectors than volumes"
    return truth


def write_astro_surveys(landing_root: Path, seed: int) -> dict[str, Any]:
    """SDSS spectra, Kepler light curves and Gaia photometry with known stellar truth."""
    from brainstar.demo.astro.surveys import write_astro_surveys as write

    return write(landing_root, seed)


WRITERS: dict[str, DomainWriter] = {"neuro": write_neuro_sessions, "astro": write_astro_surveys}


def landing_is_empty(landing_root: Path) -> bool:
    """True when no domain folder holds anything yet."""
    return not any(
        (landing_root / domain).is_dir() and any((landing_root / domain).iterdir())
        for domain in ("neuro", "astro")
    )


def write_demo_landing(
    landing_root: Path,
    seed: int = 0,
    domains: tuple[str, ...] | None = None,
    on_domain_written: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Write the demo landing zone under ``landing_root``; return the ground truth.

    ``on_domain_written(domain, seconds)`` hears of each domain as it is done: the whole
    zone takes tens of seconds, too long to write without a word.
    """
    landing_root.mkdir(parents=True, exist_ok=True)
    selected = domains or tuple(WRITERS)
    unknown = set(selected) - set(WRITERS)
    if unknown:
        raise ValueError(f"unknown demo domains {sorted(unknown)}; choose from {sorted(WRITERS)}")
    truth: dict[str, Any] = {"seed": seed}
    for domain in selected:
        started = time.monotonic()
        truth[domain] = WRITERS[domain](landing_root, seed)
        if on_domain_written is not None:
            on_domain_written(domain, time.monotonic() - started)
    write_json_atomic(landing_root / GROUND_TRUTH_FILE, truth)
    return truth
