"""Neuro: seconds per stage for one session at two sizes beside dipy's, and the sessions-sensor tick.

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
# The references are dipy's own implementations of the stages, run here beside ours on the same data.
# dipy's MP-PCA is a Python loop over voxels (about 1 ms each here): a whole realistic volume takes
# about an hour. Its cost is linear in patch centres, so on large volumes it is timed on a slab of
# this many slices and scaled to the whole volume (the note says so).
DENOISE_SLAB_SLICES = 8
# dipy's motion_correction (rigid, mutual information, every volume to the first b0) is timed on
# this many diffusion-weighted volumes and scaled to the series: each volume is one registration.
REFERENCE_MOTION_VOLUMES = 4
REFERENCE_MPPCA = "(reference) dipy mppca"
REFERENCE_GIBBS = "(reference) dipy gibbs_removal, called directly"
REFERENCE_MOTION = "(reference) dipy motion_correction, rigid"
REFERENCES = {
    "MP-PCA denoise": REFERENCE_MPPCA,
    "Gibbs unringing": REFERENCE_GIBBS,
    "motion correction": REFERENCE_MOTION,
}


def _timed(stages: dict[str, float], name: str, function: Callable[[], Any], scale: float = 1.0) -> Any:
    start = time.perf_counter()
    value = function()
    stages[name] = (time.perf_counter() - start) * scale
    # Progress on stderr: a realistic session takes long enough that partial numbers matter.
    print(f"  {name}: {stages[name]:.1f} s", file=sys.stderr, flush=True)
    return value


def _reference_mppca(stages: dict[str, float], data: np.ndarray) -> None:
    from dipy.denoise.localpca import mppca as dipy_mppca

    n_slices = data.shape[2]
    slab = data
    if n_slices > 2 * DENOISE_SLAB_SLICES:
        middle = n_slices // 2
        slab = data[:, :, middle - DENOISE_SLAB_SLICES // 2 : middle + DENOISE_SLAB_SLICES // 2]
    # Patch centres per slice range: cost is linear in centres (slices - 4 for radius 2).
    scale = (n_slices - 4) / (slab.shape[2] - 4)
    _timed(
        stages,
        REFERENCE_MPPCA,
        lambda: dipy_mppca(slab, patch_radius=2, return_sigma=True, suppress_warning=True),
        scale,
    )


def _reference_gibbs(stages: dict[str, float], data: np.ndarray) -> None:
    from dipy.denoise.gibbs import gibbs_removal

    _timed(stages, REFERENCE_GIBBS, lambda: gibbs_removal(data, slice_axis=2, inplace=False, num_processes=1))


def _reference_motion(
    stages: dict[str, float], data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, affine: np.ndarray
) -> None:
    from dipy.align import motion_correction
    from dipy.core.gradients import gradient_table

    b0 = int(np.flatnonzero(bvals <= dwi_session.B0_THRESHOLD)[0])
    weighted = np.flatnonzero(bvals > dwi_session.B0_THRESHOLD)[:REFERENCE_MOTION_VOLUMES]
    volumes = np.r_[b0, weighted]
    gtab = gradient_table(bvals[volumes], bvecs=bvecs[volumes])
    _timed(
        stages,
        REFERENCE_MOTION,
        lambda: motion_correction(
            data[..., volumes], gtab, affine=affine, pipeline=["center_of_mass", "translation", "rigid"]
        ),
        (data.shape[-1] - 1) / len(weighted),
    )


def stage_seconds(spec: phantom.PhantomSpec, folder: Path) -> dict[str, float]:
    """Each stage as ``preprocess.preprocess`` runs it, and dipy's implementation of it beside."""
    stages: dict[str, float] = {}
    session = folder / "sub-01" / "ses-01"
    _timed(stages, "demo data (simulate + write)", lambda: phantom.write_nifti_session(session, spec, seed=1))
    files = dwi_session.find_nifti_session(session)
    report, _, _ = _timed(stages, "raw_session (headers)", lambda: dwi_session.inspect_headers(files))
    target = bids.BidsDwi(folder / "bids", "01", "01")
    _timed(stages, "bids_session (copy)", lambda: bids.copy_nifti_session(files, target, report.as_dict()))
    data, affine, bvals, bvecs = bids.load_series(target)
    data = data.astype(np.float32)
    region = _timed(
        stages,
        "rough mask (denoising region)",
        lambda: preprocess.denoising_region(masking.brain_mask_with_note(data, bvals)),
    )
    denoised = _timed(stages, "MP-PCA denoise", lambda: preprocess.denoise_mppca(data, region))[0]
    _reference_mppca(stages, data)
    unrung = _timed(stages, "Gibbs unringing", lambda: preprocess.unring(denoised))
    _reference_gibbs(stages, denoised)
    rough_mask = masking.brain_mask(unrung, bvals)
    correction = _timed(
        stages,
        "motion correction",
        lambda: motion.motion_correct(unrung, bvals, bvecs, affine, rough_mask),
    )
    _reference_motion(stages, unrung, bvals, bvecs, affine)
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
        *(sum(v for k, v in results[label].items() if not k.startswith("(reference)")) for label in labels),
    )
    for ours, reference in REFERENCES.items():
        ratios = ", ".join(
            f"{label}: {times[reference] / times[ours]:.1f}x" for label, times in results.items()
        )
        table.notes.append(f"{reference.removeprefix('(reference) ')} / ours ({ours}): {ratios}.")
    table.notes.append(
        f"dipy mppca on the realistic size is timed on {DENOISE_SLAB_SLICES} central slices and scaled by "
        f"patch centres; dipy motion_correction on {REFERENCE_MOTION_VOLUMES} diffusion-weighted volumes "
        "and scaled by volumes; every other row ran on the whole series. Ours denoises the whole-head mask "
        f"grown by {preprocess.DENOISE_MASK_MARGIN_VOXELS} voxels; unringing is dipy's, in one process "
        "(preprocess.unring says why); dipy's motion_correction registers every volume to the first b0 "
        "by mutual information (no acceptance test), ours each volume to its own target "
        "(tests/neuro/test_motion.py)."
    )
    with tempfile.TemporaryDirectory() as folder:
        ours, reference = sensor_tick_seconds(Path(folder))
    table.notes.append(
        f"Sessions sensor, {N_SESSIONS:,} landed sessions, none new: tick {ours:.3f} s; reference tick that "
        f"walks every session {reference:.3f} s; ratio reference / ours = {reference / ours:.1f}x."
    )
    return table
