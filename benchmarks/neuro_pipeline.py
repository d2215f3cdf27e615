"""Neuro: seconds per stage for one session at two sizes, and the sessions-sensor tick.

Sizes: the demo phantom (28x28x14 voxels, 33 volumes) and a realistic session (96x96x60
voxels, 65 volumes: 1 b0 + 64 directions at b=1000). The sensor tick is timed with
10,000 landed sessions, all already known, against a reference tick that walks every
session folder (what a sensor without the known-partition shortcut would do).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import Table, best_of
from brainstar.demo.neuro import phantom
from brainstar.domain.neuro import (
    bids,
    dwi_session,
    masking,
    motion,
    parcellation,
    preprocess,
    reconstruction,
    tractography,
)

SIZES = {
    "demo 28x28x14, 33 vol": phantom.PhantomSpec(),
    "realistic 96x96x60, 65 vol": phantom.PhantomSpec(
        shape=(96, 96, 60), n_b0=1, n_directions=64, regions=phantom.default_regions((96, 96, 60))
    ),
}
N_SESSIONS = 10_000
# dipy's MP-PCA is a Python loop over voxels (about 1 ms each here): a whole realistic volume
# takes about an hour. Its cost is linear in the voxel count, so on large volumes it is timed on
# a slab of this many slices and scaled to the whole volume (the row label says so).
DENOISE_SLAB_SLICES = 8
REFERENCE_ROW = "(reference) dipy MP-PCA"


def _timed(stages: dict[str, float], name: str, function: Callable[[], Any], scale: float = 1.0) -> Any:
    start = time.perf_counter()
    value = function()
    stages[name] = (time.perf_counter() - start) * scale
    # Progress on stderr: a realistic session takes long enough that partial numbers matter.
    print(f"  {name}: {stages[name]:.1f} s", file=sys.stderr, flush=True)
    return value


def _denoise(stages: dict[str, float], data: np.ndarray) -> np.ndarray:
    """Our batched MP-PCA on the whole volume, and dipy's (the reference) for the ratio."""
    from dipy.denoise.localpca import mppca as dipy_mppca

    denoised = _timed(stages, "MP-PCA denoise", lambda: preprocess.denoise_mppca(data))[0]
    n_slices = data.shape[2]
    slab = data
    if n_slices > 2 * DENOISE_SLAB_SLICES:
        middle = n_slices // 2
        slab = data[:, :, middle - DENOISE_SLAB_SLICES // 2 : middle + DENOISE_SLAB_SLICES // 2]
    # Patch centres per slice range: cost is linear in centres (slices - 4 for radius 2).
    scale = (n_slices - 4) / (slab.shape[2] - 4)
    _timed(
        stages,
        REFERENCE_ROW,
        lambda: dipy_mppca(slab, patch_radius=2, return_sigma=True, suppress_warning=True),
        scale,
    )
    return denoised


def stage_seconds(spec: phantom.PhantomSpec, folder: Path) -> dict[str, float]:
    stages: dict[str, float] = {}
    session = folder / "sub-01" / "ses-01"
    _timed(stages, "demo data (simulate + write)", lambda: phantom.write_nifti_session(session, spec, seed=1))
    files = dwi_session.find_nifti_session(session)
    report, _, _ = _timed(stages, "raw_session (headers)", lambda: dwi_session.inspect_headers(files))
    target = bids.BidsDwi(folder / "bids", "01", "01")
    _timed(stages, "bids_session (copy)", lambda: bids.copy_nifti_session(files, target, report.as_dict()))
    data, affine, bvals, bvecs = bids.load_series(target)
    denoised = _denoise(stages, data)
    unrung = _timed(stages, "Gibbs unringing", lambda: preprocess.unring(denoised))
    rough_mask = masking.brain_mask(unrung, bvals)
    correction = _timed(
        stages,
        "motion correction",
        lambda: motion.motion_correct(unrung, bvals, bvecs, affine, rough_mask),
    )
    corrected, rotated = correction.data, correction.bvecs
    mask = _timed(stages, "brain mask", lambda: masking.brain_mask(corrected, bvals))
    maps = _timed(
        stages, "dti_maps (tensor fit)", lambda: reconstruction.fit_tensor(corrected, bvals, rotated, mask)
    )
    labels = parcellation.octant_labels(mask)
    _timed(stages, "parcellation_stats", lambda: parcellation.regional_stats(maps.scalars(), labels, mask))
    streamlines, n_seeds = _timed(
        stages, "tractography", lambda: tractography.track(corrected, bvals, rotated, mask, maps.fa, affine)
    )
    _timed(stages, "connectome", lambda: tractography.connectome(streamlines, affine, labels, n_seeds))
    return stages


def sensor_tick_seconds(folder: Path) -> tuple[float, float]:
    """(our tick, reference tick) in seconds with N_SESSIONS landed and known sessions."""
    import dagster as dg

    from brainstar.core import landing
    from platform_assets.definitions import defs
    from resources import LandingZone
    from sensors.neuro_sessions import neuro_sessions_sensor

    landing_root = folder / "landing"
    keys = []
    for index in range(N_SESSIONS):
        session = landing_root / "neuro" / f"sub-{index:05d}" / "ses-01"
        session.mkdir(parents=True)
        for name in phantom_files():
            (session / name).write_bytes(b"")
        keys.append(f"sub-{index:05d}_ses-01")
    home = folder / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions("neuro_sessions", keys)
        resources = {"landing_zone": LandingZone(root=str(landing_root), settle_seconds=60)}

        def tick() -> None:
            context = dg.build_sensor_context(
                instance=instance, instance_ref=instance.get_ref(), resources=resources, definitions=defs
            )
            result = neuro_sessions_sensor.evaluate_tick(context)
            assert not result.run_requests

        def reference_tick() -> None:
            sessions, _ = landing.scan_neuro_sessions(landing_root)
            for session in sessions:
                landing.fingerprint(session.path)

        return best_of(tick, repeat=3), best_of(reference_tick, repeat=3)


def phantom_files() -> tuple[str, ...]:
    return ("dwi.nii.gz", "dwi.bval", "dwi.bvec")


def run() -> Table:
    results = {}
    for label, spec in SIZES.items():
        with tempfile.TemporaryDirectory() as folder:
            results[label] = stage_seconds(spec, Path(folder))
    labels = list(SIZES)
    table = Table("neuro: seconds per stage, one session", ["stage", *labels])
    for stage in results[labels[0]]:
        table.add(stage, *(results[label][stage] for label in labels))
    table.add(
        "total (pipeline)",
        *(sum(v for k, v in results[label].items() if k != REFERENCE_ROW) for label in labels),
    )
    ratios = ", ".join(
        f"{label}: {times[REFERENCE_ROW] / times['MP-PCA denoise']:.1f}x" for label, times in results.items()
    )
    table.notes.append(
        f"dipy MP-PCA / ours (same estimator, tests/neuro/test_mppca.py): {ratios}. dipy's on the "
        f"realistic size is timed on {DENOISE_SLAB_SLICES} central slices and scaled by patch centres "
        "(its cost is linear in them); every other stage ran on the whole volume."
    )
    with tempfile.TemporaryDirectory() as folder:
        ours, reference = sensor_tick_seconds(Path(folder))
    table.notes.append(
        f"Sessions sensor, {N_SESSIONS:,} landed sessions, none new: tick {ours:.3f} s; reference tick that "
        f"walks every session {reference:.3f} s; ratio reference / ours = {reference / ours:.1f}x."
    )
    return table
