"""Rigid head-motion correction of a diffusion series that moves no volume without evidence.

Targets. Each volume is registered to an image with its own contrast. b0 volumes: first to the
first b0, then to the mean of the other aligned b0s (a template holding the volume itself holds its
noise, which pins the volume where it already sits). Diffusion-weighted volumes: to the tensor
model's prediction of that volume (the idea of FSL eddy's and QSIPrep SHORELine's model-based
targets, with a tensor in place of their models), left out of its own fit and refitted once on the
aligned series. The tensor is fitted on the b0s and the shells up to
``reconstruction.DEFAULT_MAX_BVALUE`` (where diffusion is close to Gaussian); higher shells get its
extrapolated prediction, which on dipy's real small_101D correlates better with them (median
0.76-0.92 by shell) than their shell mean does (-0.08-0.36): the mean loses the volume's
directional contrast, the extrapolation only its scale, which correlation ignores.

Registration. The correlation with the target over the brain mask (grown by two voxels, to hold
its outline) is maximised over six rigid parameters, first on images smoothed by 2 voxels and
sampled on every other voxel (capture range), then at full resolution (precision). The search
of a diffusion-weighted volume starts at the pose interpolated between the b0s acquired around it.

Acceptance. An estimate is applied only when it is plausible for a head in a coil, the optimiser
converged, and it raises the correlation over identity by more than fitting six parameters to
noise would; otherwise the volume keeps identity, copied untouched, and its status says why. A
field of view too small to constrain six rigid parameters is not registered at all, and the
result says so.

Limit. A tensor fitted voxel by voxel absorbs any pattern of poses across volumes that is a
quadratic form of the gradient direction (the columns of its design matrix), so model-based
targets cannot correct that part of the motion of diffusion-weighted volumes; the start between
the b0s sets it. On a phantom drifting up to 3 mm / 3 degrees with b0s every seventh volume (four
seeds), every translation came back within 0.28 mm, b0 rotations within 0.31 degrees, and
diffusion-weighted rotations within 0.15-0.28 (median), 0.33-0.69 degrees (worst: a volume whose
small motion did not beat identity by more than noise, and kept it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from brainstar.domain.neuro.dwi_session import B0_THRESHOLD
from brainstar.domain.neuro.gradients import gradient_table
from brainstar.domain.neuro.reconstruction import (
    DEFAULT_MAX_BVALUE,
    TENSOR_MIN_DIRECTIONS,
    select_shells,
)

HEAD_RADIUS_MM = 50.0  # Power et al. (2012): rotations in radians become arc length on a 50 mm sphere

# Below this many voxels along any axis, or in the mask, the series is not registered. Measured on
# the phantom (2 mm voxels) with slow drift up to 3 mm / 3 degrees: the median rotation error of the
# recovered poses is 2.2 degrees at 12^3 voxels, 1.3 at 16^3, 0.6 at 20x20x12 and 0.4 at the demo's
# 28x28x14; on the motionless phantom at 8^3 and 10^3 (dipy's real small_64D crop is 10^3) single
# volumes were moved by 1.8 and 0.9 mm. Rotations are what a small field of view cannot pin down.
MIN_AXIS_VOXELS = 14
# A brain at 2 mm holds about 150,000 voxels; a mask under a 10^3 cube is a crop or a failed mask.
MIN_MASK_VOXELS = 1000

# Estimates beyond these are not head motion: a head coil leaves about 2 cm around the head,
# and its pads stop a nod well before 20 degrees.
MAX_DISPLACEMENT_MM = 20.0
MAX_ROTATION_DEG = 20.0

# The registration samples the brain mask grown by this many voxels: the brain's outline, which
# fixes a rigid pose best, lies on the mask's edge.
REGION_MARGIN_VOXELS = 2
# The arrays registered are cut to the region's bounding box grown by this many voxels, so that a
# few millimetres of motion keep the sampled points inside them.
BOX_PAD_VOXELS = 3
# The coarse level smooths both images by this many voxels (Gaussian sigma) and samples every
# COARSE_STRIDE-th voxel of the region: a capture range of several millimetres at an eighth of the cost.
COARSE_SIGMA = 2.0
COARSE_STRIDE = 2
# The fine level smooths the target by this many voxels (Gaussian sigma). A target is noisy (a
# leave-one-out prediction, an extrapolation to high b, another b0), and sampling it between voxels
# averages its noise down, which raises the correlation at any sub-voxel pose: on the phantom's
# b = 3000 volumes the correlation with the unsmoothed target peaked 0.5 mm off on every axis and
# motionless volumes were moved by up to 3 mm; smoothed by 0.7 it peaks at the true pose (by 1.0
# too, with lower correlations and a larger error on injected motion). The volume is not smoothed:
# its noise stays independent from voxel to voxel, as the test of significance assumes.
FINE_TARGET_SIGMA = 0.7
# The fine level samples at most about this many voxels of the region (a regular stride): enough
# for a precision well under 0.1 mm, and a bound on the cost per volume of large fields of view.
MAX_FINE_POINTS = 30000
# False-positive rate of the test that an estimate explains the volume better than identity by more
# than fitting six parameters to noise: on a motionless series every volume would otherwise be
# moved (and resampled, which blurs it) by its noise-driven optimum, 0.03-0.07 mm on the phantom.
MOTION_SIGNIFICANCE = 1e-3
REFINE_ITERS = 100  # L-BFGS-B iterations of the correlation refinement
PARAM_STEP = 1e-3  # finite step (mm) for the derivative of the transform matrix, which is smooth
DWI_PASSES = 2  # the second refits the tensor on the series the first aligned
# A volume this decisive for its own tensor fit has no leave-one-out prediction (it alone fixes a
# tensor element); its in-sample prediction is used.
MAX_LEVERAGE = 0.9
# Signal floor for the log-linear fit, as a fraction of the median b0 in the region: air and
# CSF at high b reach zero after denoising, and the logarithm of zero would swamp the voxel's fit.
SIGNAL_FLOOR = 1e-2

Target = Literal["b0_template", "tensor_prediction", "tensor_prediction_extrapolated", "given", "none"]
# accepted: applied. no_gain: did not beat identity by more than fitting noise would (a still volume,
# or one the registration could not improve). implausible, not_converged: a failed registration.
# reference: the only b0, the frame itself. skipped: the series was not registered (see the note).
Status = Literal["accepted", "no_gain", "implausible", "not_converged", "reference", "skipped"]
REJECTED: tuple[Status, ...] = ("implausible", "not_converged")


@dataclass(frozen=True)
class VolumeRegistration:
    """How one volume was registered; similarities are correlations with its target in the region."""

    target: Target
    status: Status
    similarity_identity: float
    similarity_estimate: float

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


@dataclass
class MotionCorrection:
    data: np.ndarray  # (X, Y, Z, N) float32; volumes kept at identity are copied, not resampled
    affines: np.ndarray  # (N, 4, 4) reference-to-volume world transforms; identity where not applied
    bvecs: np.ndarray  # (N, 3) voxel-frame b-vectors, rotated with each accepted volume
    applied: bool
    note: str  # "applied" or "skipped: <why>"
    volumes: tuple[VolumeRegistration, ...]

    @property
    def n_accepted(self) -> int:
        return sum(volume.accepted for volume in self.volumes)

    @property
    def n_no_gain(self) -> int:
        return sum(volume.status == "no_gain" for volume in self.volumes)

    @property
    def n_rejected(self) -> int:
        return sum(volume.status in REJECTED for volume in self.volumes)

    def targets(self) -> str:
        """Volumes per target, e.g. ``"b0_template: 3, tensor_prediction: 30"``."""
        names, counts = np.unique([volume.target for volume in self.volumes], return_counts=True)
        return ", ".join(f"{name}: {count}" for name, count in zip(names, counts, strict=True))

    def table(self) -> dict[str, list[Any]]:
        """Per-volume columns, to sit beside the rigid parameters in motion.csv."""
        return {
            "motion_target": [volume.target for volume in self.volumes],
            "motion_status": [volume.status for volume in self.volumes],
            "motion_accepted": [volume.accepted for volume in self.volumes],
            "motion_rejected": [volume.status in REJECTED for volume in self.volumes],
            "similarity_identity": [volume.similarity_identity for volume in self.volumes],
            "similarity_estimate": [volume.similarity_estimate for volume in self.volumes],
        }


@dataclass(frozen=True)
class _Frame:
    """The box of the series that is registered, and the region inside it that is compared."""

    box: tuple[slice, slice, slice]  # of the whole series' grid
    affine: np.ndarray  # voxel-to-world of the box
    region: np.ndarray  # box-shaped bool: the brain mask grown by REGION_MARGIN_VOXELS
    corners_mm: np.ndarray  # (8, 4) homogeneous world corners of the mask's bounding box


def skip_reason(shape: tuple[int, ...], mask: np.ndarray, bvals: np.ndarray) -> str | None:
    """Why a series cannot be registered reliably, or None when it can."""
    if min(shape[:3]) < MIN_AXIS_VOXELS:
        extent = "x".join(str(n) for n in shape[:3])
        return f"field of view {extent} voxels is below the {MIN_AXIS_VOXELS}-voxel minimum per axis"
    if int(mask.sum()) < MIN_MASK_VOXELS:
        return f"brain mask of {int(mask.sum())} voxels is below the {MIN_MASK_VOXELS}-voxel minimum"
    if not (bvals <= B0_THRESHOLD).any():
        return "no b0 volume to build the b0 template from"
    n_dwi = int((bvals > B0_THRESHOLD).sum())
    if n_dwi < TENSOR_MIN_DIRECTIONS:
        return f"{n_dwi} diffusion-weighted volumes, fewer than the {TENSOR_MIN_DIRECTIONS} a tensor needs"
    return None


def motion_correct(
    data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, affine: np.ndarray, mask: np.ndarray
) -> MotionCorrection:
    """Register every volume to its target; see the module docstring for what is accepted."""
    bvals = np.asarray(bvals, dtype=float)
    n_volumes = data.shape[-1]
    affines = np.tile(np.eye(4), (n_volumes, 1, 1))
    reason = skip_reason(data.shape, mask, bvals)
    if reason is not None:
        skipped = VolumeRegistration("none", "skipped", float("nan"), float("nan"))
        return MotionCorrection(
            data.astype(np.float32, copy=True),
            affines,
            np.array(bvecs, dtype=float, copy=True),
            applied=False,
            note=f"skipped: {reason}",
            volumes=(skipped,) * n_volumes,
        )
    frame = _frame(mask, np.asarray(affine, dtype=float))
    series = data[frame.box].astype(np.float32)
    records: dict[int, VolumeRegistration] = {}
    _register_b0s(series, np.flatnonzero(bvals <= B0_THRESHOLD), frame, affines, records)
    _register_dwis(series, bvals, bvecs, frame, affines, records)
    return MotionCorrection(
        np.stack([_resample(data[..., v], affines[v], affine) for v in range(n_volumes)], axis=-1),
        affines,
        _rotate_bvecs(bvecs, affines, affine),
        applied=True,
        note="applied",
        volumes=tuple(records[v] for v in range(n_volumes)),
    )


def register_volume(
    moving: np.ndarray,
    target: np.ndarray,
    affine: np.ndarray,
    mask: np.ndarray,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, VolumeRegistration]:
    """One volume onto a target of its contrast, under the rules a series' volumes are accepted by.

    Returns the reference-to-volume world transform applied (identity unless accepted) and the
    record; ``start`` is where the search begins (identity if None).
    """
    if not mask.any():
        raise ValueError("the mask is empty: there is nothing to register")
    frame = _frame(mask, np.asarray(affine, dtype=float))
    return _register(moving[frame.box], target[frame.box], frame, "given", start)


def _register_b0s(
    series: np.ndarray,
    b0s: np.ndarray,
    frame: _Frame,
    affines: np.ndarray,
    records: dict[int, VolumeRegistration],
) -> None:
    """Register each b0 to the first, then to the mean of the other b0s once they are aligned.

    A template that holds the volume itself holds its noise too, which peaks the correlation
    wherever the volume already sits and holds it there; a template of the others moves with them,
    so the first pass fixes the frame on one b0.
    """
    records[int(b0s[0])] = VolumeRegistration("b0_template", "reference", 1.0, 1.0)
    for volume in b0s[1:]:
        affines[volume], records[int(volume)] = _register(
            series[..., volume], series[..., b0s[0]], frame, "b0_template"
        )
    if len(b0s) == 1:
        return
    aligned = {int(v): _resample(series[..., v], affines[v], frame.affine) for v in b0s}
    for volume in b0s:
        template = np.mean([image for v, image in aligned.items() if v != volume], axis=0)
        affines[volume], records[int(volume)] = _register(
            series[..., volume], template, frame, "b0_template", affines[volume], coarse=False
        )


def _register_dwis(
    series: np.ndarray,
    bvals: np.ndarray,
    bvecs: np.ndarray,
    frame: _Frame,
    affines: np.ndarray,
    records: dict[int, VolumeRegistration],
) -> None:
    """Register each diffusion-weighted volume to the tensor's prediction of it, from the pose
    between the b0s around it; the second pass refits the tensor on the series the first aligned."""
    fitted = select_shells(bvals, DEFAULT_MAX_BVALUE).volumes
    dwis = np.flatnonzero(bvals > B0_THRESHOLD)
    affines[dwis] = _poses_between_b0s(affines, np.flatnonzero(bvals <= B0_THRESHOLD), dwis)
    for pass_index in range(DWI_PASSES):
        aligned = np.stack(
            [_resample(series[..., v], affines[v], frame.affine) for v in range(series.shape[-1])], axis=-1
        )
        targets = _tensor_targets(aligned, bvals, _rotate_bvecs(bvecs, affines, frame.affine), fitted, frame)
        for volume in dwis:
            target: Target = "tensor_prediction" if fitted[volume] else "tensor_prediction_extrapolated"
            affines[volume], records[int(volume)] = _register(
                series[..., volume],
                targets[..., volume],
                frame,
                target,
                affines[volume],
                coarse=pass_index == 0,
            )


def _poses_between_b0s(affines: np.ndarray, b0s: np.ndarray, volumes: np.ndarray) -> np.ndarray:
    """Each volume's pose interpolated, in acquisition order, between the b0s' registered poses.

    Heads drift slowly between neighbouring volumes, so this is where a volume's search starts. It
    also puts the diffusion-weighted volumes in the b0s' frame: their own targets cannot, because a
    tensor fitted voxel by voxel absorbs any pattern of poses that is a quadratic form of the
    gradient direction (its design matrix), and so cannot correct it.
    """
    params = np.array([_rigid_to_params(affines[v]) for v in b0s])
    interpolated = np.column_stack([np.interp(volumes, b0s, params[:, k]) for k in range(6)])
    return np.array([_params_to_rigid(p) for p in interpolated])


def _tensor_targets(
    aligned: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, fitted: np.ndarray, frame: _Frame
) -> np.ndarray:
    """Each volume as the tensor fitted to the ``fitted`` volumes predicts it, leaving it out if fitted.

    Log-linear least squares (dipy's design matrix) has one hat matrix for every voxel, so the
    leave-one-out prediction has a closed form, (yhat - h y) / (1 - h), where dipy's
    ``TensorModel`` would need one fit per volume.
    """
    from dipy.reconst.dti import design_matrix

    design = design_matrix(gradient_table(bvals, bvecs))  # (N, 7)
    inverse = np.linalg.pinv(design[fitted])  # (7, n_fitted)
    leverage = np.einsum("ij,ji->i", design[fitted], inverse)
    b0 = aligned[..., bvals <= B0_THRESHOLD].mean(axis=-1)
    floor = SIGNAL_FLOOR * float(np.median(b0[frame.region]))
    logs = np.log(np.maximum(aligned[..., fitted], floor)).astype(np.float32)
    params = logs @ inverse.T.astype(np.float32)  # (X, Y, Z, 7)
    predicted = params @ design.T.astype(np.float32)  # (X, Y, Z, N)
    in_sample = predicted[..., fitted]
    predicted[..., fitted] = np.where(
        leverage < MAX_LEVERAGE, (in_sample - leverage * logs) / (1 - leverage), in_sample
    )
    # Diffusion attenuates: a tensor fitted to noise (air) can have negative diffusivities, whose
    # extrapolation to high b would grow without bound (to b0 brightness in air at b = 3000).
    s0_row = np.zeros(7, dtype=np.float32)
    s0_row[6] = design[0, 6]  # the constant column: log S0
    return np.exp(np.minimum(predicted, (params @ s0_row)[..., None])).astype(np.float32)


def _register(
    moving: np.ndarray,
    target: np.ndarray,
    frame: _Frame,
    target_name: Target,
    start: np.ndarray | None = None,
    *,
    coarse: bool = True,
) -> tuple[np.ndarray, VolumeRegistration]:
    """Rigid transform of ``moving`` onto ``target``, or identity unless the estimate earns its place.

    The search starts at ``start`` (identity if None); with ``coarse`` a smoothed, sparser level
    goes first.
    """
    start = np.eye(4) if start is None else start
    if coarse:
        coarse_level = _Correlation(moving, target, frame, COARSE_STRIDE, COARSE_SIGMA, COARSE_SIGMA)
        start = coarse_level.refine(start)[0]
    correlation = _Correlation(moving, target, frame, _fine_stride(frame), 0.0, FINE_TARGET_SIGMA)
    estimate, converged = correlation.refine(start)
    identity = np.eye(4)
    similarity_identity = correlation.value(identity)
    similarity_estimate = correlation.value(estimate)
    status: Status = "accepted"
    if not _plausible(estimate, frame):
        status = "implausible"
    elif not converged:
        status = "not_converged"
    elif not _significant(similarity_identity, similarity_estimate, correlation.n_points):
        status = "no_gain"
    record = VolumeRegistration(target_name, status, float(similarity_identity), float(similarity_estimate))
    return (estimate if record.accepted else identity), record


def _fine_stride(frame: _Frame) -> int:
    """Smallest regular stride that samples at most about MAX_FINE_POINTS voxels of the region."""
    return max(1, int(np.ceil((frame.region.sum() / MAX_FINE_POINTS) ** (1 / 3))))


class _Correlation:
    """Correlation, over the region, of ``moving`` on its own voxels with the target brought onto them.

    The target is resampled, never the volume: resampling averages noise down, which would raise
    the correlation at any sub-voxel shift of a noisy volume. Every target has the volume's own
    contrast, so correlation (least squares up to gain and offset) is the precise criterion. dipy's
    rigid registration offers only mutual information, which on the phantom with a noiseless
    target left rotations 0.3-1.2 degrees off, at a lower correlation than the true pose, and took
    1 s per volume on its coarse levels alone; hence this small optimiser (scipy's L-BFGS-B with
    the analytic gradient). ``stride`` thins the region; the sigmas smooth the images (voxels).
    """

    def __init__(
        self,
        moving: np.ndarray,
        target: np.ndarray,
        frame: _Frame,
        stride: int,
        moving_sigma: float,
        target_sigma: float,
    ) -> None:
        from scipy.ndimage import gaussian_filter

        sampled = np.zeros_like(frame.region)
        sampled[::stride, ::stride, ::stride] = True
        sampled &= frame.region
        voxels = np.argwhere(sampled).T.astype(float)
        self.world = frame.affine @ np.vstack([voxels, np.ones(voxels.shape[1])])
        self.world_to_voxel = np.linalg.inv(frame.affine)
        values = moving.astype(np.float64)
        values = (gaussian_filter(values, moving_sigma) if moving_sigma else values)[sampled]
        centred = values - values.mean()
        norm = np.linalg.norm(centred)
        self.moving = centred / norm if norm else centred  # a flat volume correlates with nothing
        self.n_points = int(sampled.sum())
        target = target.astype(np.float64)
        self.target = gaussian_filter(target, target_sigma) if target_sigma else target

    def value(self, transform: np.ndarray) -> float:
        """Correlation with the target at ``transform`` (reference-to-volume, world)."""
        return self._evaluate(_inverse_rigid(transform[None])[0], gradient=False)[0]

    def refine(self, start: np.ndarray) -> tuple[np.ndarray, bool]:
        """Maximise the correlation from ``start``; returns (transform, converged)."""
        from scipy.optimize import minimize

        result = minimize(
            self._cost,
            _rigid_to_params(start),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": REFINE_ITERS},
        )
        # Status 1 is the iteration limit. Status 2, a line search that cannot descend, happens at
        # the kinks of trilinear interpolation: the optimum to the resolution of the function.
        return _params_to_rigid(result.x), result.status != 1

    def _cost(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        steps = np.vstack([np.zeros(6), np.eye(6) * PARAM_STEP, -np.eye(6) * PARAM_STEP])
        inverses = _inverse_rigid(_params_to_rigid(params + steps))
        correlation, along_points = self._evaluate(inverses[0], gradient=True)
        # The sampled points are linear in the inverse transform: the derivative of the
        # correlation is that of the matrix (central differences; it is smooth) against the
        # (3, 4) sum over points of d correlation / d point times the point.
        change = (inverses[1:7] - inverses[7:]) / (2 * PARAM_STEP)
        gradient = np.einsum("kij,ij->k", (self.world_to_voxel @ change)[:, :3, :], along_points)
        return -correlation, -gradient

    def _evaluate(self, inverse: np.ndarray, *, gradient: bool) -> tuple[float, np.ndarray]:
        """Correlation at the inverse transform ``inverse`` and, if asked, its (3, 4) point moment."""
        # A voxel y of the volume shows the reference point inverse @ y.
        points = (self.world_to_voxel @ inverse @ self.world)[:3]
        sampled, derivative = _trilinear(self.target, points, gradient=gradient)
        centred = sampled - sampled.mean()
        norm = np.linalg.norm(centred)
        if norm == 0:
            return 0.0, np.zeros((3, 4))
        correlation = float(self.moving @ centred) / norm
        if not gradient:
            return correlation, np.zeros((3, 4))
        slope = (self.moving - correlation * centred / norm) / norm  # d correlation / d sampled value
        return correlation, (derivative * slope) @ self.world.T


def _trilinear(volume: np.ndarray, points: np.ndarray, *, gradient: bool) -> tuple[np.ndarray, np.ndarray]:
    """Trilinear interpolation of ``volume`` at (3, P) voxel ``points`` (edge values beyond it), and
    its exact derivative along each axis.

    scipy's ``map_coordinates`` gives the values only; the derivative of the interpolant needs the
    same eight neighbours, so one gather serves both (half the time of four ``map_coordinates``).
    """
    shape = np.array(volume.shape)[:, None]
    clipped = np.clip(points, 0, shape - 1)
    base = np.minimum(np.floor(clipped).astype(np.intp), np.maximum(shape - 2, 0))
    fx, fy, fz = clipped - base
    strides = np.array([volume.shape[1] * volume.shape[2], volume.shape[2], 1])[:, None]
    flat = volume.ravel()
    index = (base * strides).sum(axis=0)
    c = {
        (i, j, k): flat[index + i * strides[0, 0] + j * strides[1, 0] + k * strides[2, 0]]
        for i in (0, 1)
        for j in (0, 1)
        for k in (0, 1)
    }
    # Along z first, then y, then x.
    c00, c01 = c[0, 0, 0] + fz * (c[0, 0, 1] - c[0, 0, 0]), c[0, 1, 0] + fz * (c[0, 1, 1] - c[0, 1, 0])
    c10, c11 = c[1, 0, 0] + fz * (c[1, 0, 1] - c[1, 0, 0]), c[1, 1, 0] + fz * (c[1, 1, 1] - c[1, 1, 0])
    c0, c1 = c00 + fy * (c01 - c00), c10 + fy * (c11 - c10)
    values = c0 + fx * (c1 - c0)
    if not gradient:
        return values, np.zeros_like(points)
    d_x = c1 - c0
    d_y = (1 - fx) * (c01 - c00) + fx * (c11 - c10)
    d_z = sum(
        (fx if i else 1 - fx) * (fy if j else 1 - fy) * (c[i, j, 1] - c[i, j, 0])
        for i in (0, 1)
        for j in (0, 1)
    )
    derivative = np.vstack([d_x, d_y, d_z])
    derivative[(points < 0) | (points > shape - 1)] = 0.0  # beyond the edge the value is constant
    return values, derivative


def _inverse_rigid(transforms: np.ndarray) -> np.ndarray:
    """Inverses of (K, 4, 4) rigid transforms: [R t]^-1 = [R^T, -R^T t]."""
    inverses = np.zeros_like(transforms)
    rotations = np.swapaxes(transforms[:, :3, :3], 1, 2)
    inverses[:, :3, :3] = rotations
    inverses[:, :3, 3] = -np.einsum("kij,kj->ki", rotations, transforms[:, :3, 3])
    inverses[:, 3, 3] = 1.0
    return inverses


def _params_to_rigid(params: np.ndarray) -> np.ndarray:
    """Translation (mm) and rotation vector in mm of arc at HEAD_RADIUS_MM -> 4x4 world transform.

    Rotations in arc length make a unit step move the head's surface about 1 mm whichever
    parameter it is, which keeps the optimiser's problem well scaled. (K, 6) gives (K, 4, 4).
    """
    from scipy.spatial.transform import Rotation

    params = np.asarray(params, dtype=float)
    batch = np.atleast_2d(params)
    transforms = np.tile(np.eye(4), (len(batch), 1, 1))
    transforms[:, :3, :3] = Rotation.from_rotvec(batch[:, 3:] / HEAD_RADIUS_MM).as_matrix()
    transforms[:, :3, 3] = batch[:, :3]
    return transforms if params.ndim == 2 else transforms[0]


def _rigid_to_params(transform: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_matrix(transform[:3, :3]).as_rotvec() * HEAD_RADIUS_MM
    return np.concatenate([transform[:3, 3], rotation])


def _significant(identity: float, estimate: float, n_points: int) -> bool:
    """Whether the estimate explains more of the volume than six parameters fitted to noise would.

    Correlation is least squares up to gain and offset, so 1 - r^2 is the unexplained share of the
    variance and the gain in r^2 from identity to the estimate takes an F test with 6 and
    n - 8 degrees of freedom.
    """
    from scipy.stats import f as f_distribution

    if estimate <= identity:
        return False
    residual = n_points - 8
    statistic = ((estimate**2 - identity**2) / 6) / ((1 - estimate**2) / residual)
    return bool(statistic > f_distribution.ppf(1 - MOTION_SIGNIFICANCE, 6, residual))


def _plausible(transform: np.ndarray, frame: _Frame) -> bool:
    from scipy.spatial.transform import Rotation

    displacement = np.linalg.norm((frame.corners_mm @ transform.T - frame.corners_mm)[:, :3], axis=1).max()
    rotation = np.degrees(Rotation.from_matrix(transform[:3, :3]).magnitude())
    return bool(displacement <= MAX_DISPLACEMENT_MM and rotation <= MAX_ROTATION_DEG)


def _frame(mask: np.ndarray, affine: np.ndarray) -> _Frame:
    from scipy.ndimage import binary_dilation

    region = binary_dilation(mask, iterations=REGION_MARGIN_VOXELS)
    low, high = _bounds(region)
    low = np.maximum(low - BOX_PAD_VOXELS, 0)
    high = np.minimum(high + BOX_PAD_VOXELS, np.asarray(mask.shape) - 1)
    box = (slice(low[0], high[0] + 1), slice(low[1], high[1] + 1), slice(low[2], high[2] + 1))
    shift = np.eye(4)
    shift[:3, 3] = low
    mask_low, mask_high = _bounds(mask)
    corners = np.array(
        [
            [x, y, z, 1.0]
            for x in (mask_low[0], mask_high[0])
            for y in (mask_low[1], mask_high[1])
            for z in (mask_low[2], mask_high[2])
        ]
    )
    return _Frame(box, affine @ shift, region[box], corners @ affine.T)


def _bounds(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest voxel index of ``mask`` along each axis."""
    voxels = np.argwhere(mask)
    return voxels.min(axis=0), voxels.max(axis=0)


def _resample(volume: np.ndarray, transform: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """``volume`` brought into the reference frame; an identity transform copies it untouched."""
    from dipy.align.imaffine import AffineMap

    if np.array_equal(transform, np.eye(4)):
        return volume.astype(np.float32, copy=True)
    mapping = AffineMap(
        transform,
        domain_grid_shape=volume.shape,
        domain_grid2world=affine,
        codomain_grid_shape=volume.shape,
        codomain_grid2world=affine,
    )
    return mapping.transform(volume.astype(np.float64)).astype(np.float32)


def _rotate_bvecs(bvecs: np.ndarray, affines: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Voxel-frame b-vectors turned with each volume's head rotation.

    A gradient applied along g in the scanner meets a head turned by R along R^-1 g (dipy's
    ``reorient_bvecs``). dipy's function works in world axes; these vectors are in voxel axes, so
    the rotation is carried into them through the affine's direction matrix.
    """
    direction = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    to_voxel = np.linalg.inv(direction)
    rotated = np.array(bvecs, dtype=float, copy=True)
    for volume, transform in enumerate(affines):
        rotated[volume] = to_voxel @ transform[:3, :3].T @ direction @ rotated[volume]
    return rotated


def rigid_parameters(affines: np.ndarray) -> np.ndarray:
    """(N, 4, 4) rigid transforms -> (N, 6): three translations (mm), three Euler angles (rad)."""
    from scipy.spatial.transform import Rotation

    rotations = Rotation.from_matrix(affines[:, :3, :3]).as_euler("xyz")
    return np.column_stack([affines[:, :3, 3], rotations])


def framewise_displacement(affines: np.ndarray, radius_mm: float = HEAD_RADIUS_MM) -> np.ndarray:
    """Power FD per volume: sum of absolute changes of the six rigid parameters, first is 0."""
    params = rigid_parameters(affines)
    params[:, 3:] *= radius_mm
    fd = np.zeros(len(params))
    fd[1:] = np.abs(np.diff(params, axis=0)).sum(axis=1)
    return fd
