"""The per-session diffusion QC report, after QSIPrep's: one self-contained HTML file.

Figures: the brain mask on the mean b0 (raw and preprocessed), framewise displacement per
volume against its limit, the direction-encoded FA map, the b-vectors on the sphere by
shell, and a carpet plot before and after preprocessing; then the QC table, each value
beside its unit, its configured limits and whether it passes them.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg renderer, never
through pyplot, so drawing keeps no global state and no display is needed; matplotlib and
nibabel are imported inside the functions that use them, as the code location loads
this module.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

# The figure helpers are shared with the astro model reports; re-exported here for this module's callers.
from brainstar.core.figures import PNG_SIGNATURE as PNG_SIGNATURE
from brainstar.core.figures import figure_png, png_data_uri
from brainstar.core.figures import html_table as _table
from brainstar.core.figures import new_figure as _figure
from brainstar.domain.neuro.dwi_session import B0_THRESHOLD

REJECTED_COLUMN = "motion_rejected"
"""Optional boolean column of ``motion.csv``: volumes whose registration failed (kept at identity),
marked on the FD trace."""
FD_METRIC = "fd_max_mm"
NAN_COLOUR = (1.0, 0.0, 1.0)  # magenta: no tissue colour of a DEC map is magenta at full saturation
CARPET_MAX_ROWS = 400  # a panel is about 300 px tall, so more voxel rows would only be averaged away

# Values the report computes from the DTI maps, with unit and meaning, beside preprocess.QC_FIELDS.
MAP_FIELDS: dict[str, tuple[str, str]] = {
    "fa_median_in_mask": ("FA", "median fractional anisotropy in the brain mask (failed fits left out)"),
    "md_median_in_mask_mm2_per_s": ("mm^2/s", "median mean diffusivity in the brain mask"),
    "fa_nan_in_mask": ("voxels", "voxels in the brain mask where the tensor fit failed (FA is NaN)"),
}

# Resource fields named before the ``<metric>_min`` / ``<metric>_max`` convention, and their metric.
_LIMIT_ALIASES = {"max_framewise_displacement_mm": FD_METRIC}


@dataclass(frozen=True)
class SessionQcData:
    """The arrays one report is drawn from; vectors are in the voxel frame of the arrays."""

    raw: np.ndarray  # (X, Y, Z, N) the series as acquired (BIDS)
    preprocessed: np.ndarray  # (X, Y, Z, N) denoised, unrung, motion-corrected
    mask: np.ndarray  # (X, Y, Z) bool
    bvals: np.ndarray  # (N,) s/mm^2
    bvecs: np.ndarray  # (N, 3) unit vectors, voxel frame
    framewise_displacement_mm: np.ndarray  # (N,)
    # None before the tensor fit: the preprocessing report is drawn without the DEC FA figure.
    fa: np.ndarray | None = None  # (X, Y, Z), NaN where the tensor fit failed
    v1: np.ndarray | None = None  # (X, Y, Z, 3) principal eigenvector, voxel frame
    voxel_size_mm: tuple[float, float, float] = (1.0, 1.0, 1.0)
    rejected: np.ndarray | None = None  # (N,) bool, when the pipeline records rejected volumes

    def in_ras(self, affine: np.ndarray) -> SessionQcData:
        """The same data with voxel axes turned to the closest of R, A, S (nibabel's orientation).

        Slices then display the same way whatever the scanner's storage order, and the DEC
        colours take their anatomical meaning (red left-right, green front-back, blue up-down).
        """
        from nibabel.orientations import apply_orientation, io_orientation

        ornt = io_orientation(affine)
        zooms = np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
        sizes = [0.0, 0.0, 0.0]
        for axis, (target, _) in enumerate(ornt):
            sizes[int(target)] = float(zooms[axis])
        return replace(
            self,
            raw=apply_orientation(self.raw, ornt),
            preprocessed=apply_orientation(self.preprocessed, ornt),
            mask=apply_orientation(self.mask, ornt),
            fa=None if self.fa is None else apply_orientation(self.fa, ornt),
            v1=None if self.v1 is None else _vectors_in_orientation(apply_orientation(self.v1, ornt), ornt),
            bvecs=_vectors_in_orientation(self.bvecs, ornt),
            voxel_size_mm=(sizes[0], sizes[1], sizes[2]),
        )


def _vectors_in_orientation(vectors: np.ndarray, ornt: np.ndarray) -> np.ndarray:
    """Vector components (last axis) permuted and flipped as ``ornt`` moves the voxel axes."""
    turned = np.empty_like(vectors)
    for axis, (target, flip) in enumerate(ornt):
        turned[..., int(target)] = flip * vectors[..., axis]
    return turned


@dataclass(frozen=True)
class Limit:
    name: str  # the threshold resource's field
    value: float
    side: str  # "min" or "max"
    description: str = ""

    def admits(self, value: float) -> bool:
        return value >= self.value if self.side == "min" else value <= self.value

    def __str__(self) -> str:
        """The bound and the setting it comes from, so a reader knows what to change."""
        return f"{'≥' if self.side == 'min' else '≤'} {self.value:g} ({self.name})"


@dataclass(frozen=True)
class QcRow:
    metric: str
    value: float
    unit: str
    meaning: str
    limits: tuple[Limit, ...] = ()

    @property
    def passed(self) -> bool | None:
        """None when no limit applies; a NaN value cannot be shown to lie within its limits."""
        if not self.limits:
            return None
        return not math.isnan(self.value) and all(limit.admits(self.value) for limit in self.limits)

    @property
    def result(self) -> str:
        return {None: "no limit", True: "pass", False: "FAIL"}[self.passed]

    @property
    def limit_text(self) -> str:
        return ", ".join(str(limit) for limit in self.limits)


def bind_limits(
    limits: Mapping[str, object], descriptions: Mapping[str, str], metrics: Iterable[str]
) -> tuple[dict[str, list[Limit]], list[Limit]]:
    """Match each numeric threshold to the QC metric it bounds; also return those that bound none.

    A threshold ``<metric>_max`` / ``max_<metric>`` (``_min`` alike) bounds ``<metric>``; the
    longest metric named in it wins. Thresholds of something else (a cohort z-score, a value
    this report does not compute) come back unbound, so the report still lists them.
    """
    metrics = sorted(metrics, key=len, reverse=True)
    bound: dict[str, list[Limit]] = {}
    unbound = []
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        metric = _LIMIT_ALIASES.get(name) or next(
            (m for m in metrics if re.search(rf"(^|_){re.escape(m)}(_|$)", name)), None
        )
        tokens = set(name.replace(metric, "_").split("_")) if metric else set()
        sides = tokens & {"min", "max"}
        limit = Limit(name, float(value), sides.pop() if len(sides) == 1 else "", descriptions.get(name, ""))
        if metric and limit.side:
            bound.setdefault(metric, []).append(limit)
        else:
            unbound.append(limit)
    return bound, unbound


def text_rows(
    values: Mapping[str, object], fields: Mapping[str, tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """(name, text, meaning) of each text value: how a stage ran (mask method, motion skipped)."""
    return [
        (name, value, fields.get(name, ("", ""))[1])
        for name, value in values.items()
        if isinstance(value, str)
    ]


def qc_rows(
    values: Mapping[str, object], fields: Mapping[str, tuple[str, str]], limits: Mapping[str, list[Limit]]
) -> list[QcRow]:
    """One row per numeric value, in ``fields``' order; values ``fields`` does not describe come last."""
    numeric = [name for name, value in values.items() if isinstance(value, int | float)]
    names = [name for name in fields if name in numeric] + [name for name in numeric if name not in fields]
    return [
        QcRow(name, float(values[name]), *fields.get(name, ("", "")), tuple(limits.get(name, ())))
        for name in names
    ]


def _finite_median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def map_values(fa: np.ndarray, md: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """The DTI numbers of ``MAP_FIELDS``, computed over the brain mask."""
    return {
        "fa_median_in_mask": _finite_median(fa[mask]),
        "md_median_in_mask_mm2_per_s": _finite_median(md[mask]),
        "fa_nan_in_mask": float(np.isnan(fa[mask]).sum()),
    }


# --- figures -----------------------------------------------------------------------------


def mean_b0(series: np.ndarray, bvals: np.ndarray) -> np.ndarray:
    b0 = bvals <= B0_THRESHOLD
    if not b0.any():
        raise ValueError(f"no b0 volume (b <= {B0_THRESHOLD:g} s/mm^2) to draw the mask on")
    return series[..., b0].mean(axis=-1)


def _centre(mask: np.ndarray) -> tuple[int, int, int]:
    """The mask's centre of mass in voxels; the volume's centre for an empty mask."""
    points = np.argwhere(mask)
    centre = points.mean(axis=0) if len(points) else (np.asarray(mask.shape) - 1) / 2
    i, j, k = (int(v) for v in np.rint(centre))
    return i, j, k


def _orthogonal_slices(volume: np.ndarray, centre: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """Sagittal, coronal and axial planes through ``centre``, transposed so rows run vertically."""
    i, j, k = centre
    return {"sagittal": volume[i, :, :].T, "coronal": volume[:, j, :].T, "axial": volume[:, :, k].T}


def _aspect(data: SessionQcData, plane: str) -> float:
    """Height over width of one voxel in ``plane``, so anisotropic voxels are not stretched."""
    x, y, z = data.voxel_size_mm
    return {"sagittal": z / y, "coronal": z / x, "axial": y / x}[plane]


def _draw_mask_row(axes: Sequence[Any], b0: np.ndarray, data: SessionQcData, label: str) -> None:
    vmax = float(np.percentile(b0[data.mask], 99)) if data.mask.any() else float(b0.max())
    centre = _centre(data.mask)
    outlines = _orthogonal_slices(data.mask, centre)
    for ax, (plane, image) in zip(axes, _orthogonal_slices(b0, centre).items(), strict=True):
        ax.imshow(image, cmap="gray", origin="lower", vmin=0, vmax=vmax, aspect=_aspect(data, plane))
        outline = outlines[plane]
        if outline.any() and not outline.all():  # contour needs both sides of the level
            ax.contour(outline.astype(float), levels=[0.5], colors="#ff3030", linewidths=1)
        ax.set_title(f"{label}, {plane}", fontsize=9)
        ax.set_axis_off()


def mask_overlay_figure(data: SessionQcData) -> Any:
    """Brain-mask outline on the raw and on the preprocessed mean b0, three orthogonal planes."""
    fig = _figure(7.5, 5.2)
    axes = fig.subplots(2, 3)
    _draw_mask_row(axes[0], mean_b0(data.raw, data.bvals), data, "raw b0")
    _draw_mask_row(axes[1], mean_b0(data.preprocessed, data.bvals), data, "preprocessed b0")
    return fig


def _draw_fd(ax: Any, data: SessionQcData, limit_mm: float | None) -> None:
    fd = np.asarray(data.framewise_displacement_mm, dtype=float)
    volumes = np.arange(len(fd))
    ax.plot(volumes, fd, "-o", color="#1f5fa8", ms=3, lw=1, label="framewise displacement")
    if limit_mm is not None:
        ax.axhline(limit_mm, color="#d62728", ls="--", lw=1.2, label=f"limit {limit_mm:g} mm")
        over = fd > limit_mm
        if over.any():
            ax.plot(volumes[over], fd[over], "o", color="#d62728", ms=6, label="above the limit")
    if data.rejected is not None and np.any(data.rejected):
        rejected = np.asarray(data.rejected, dtype=bool)
        ax.plot(
            volumes[rejected],
            fd[rejected],
            "x",
            color="k",
            ms=8,
            mew=2,
            label="registration rejected (kept at identity)",
        )
    ax.set_xlabel("volume")
    ax.set_ylabel("FD (mm)")
    ax.set_xlim(-0.5, max(len(fd) - 0.5, 0.5))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")


def fd_figure(data: SessionQcData, limit_mm: float | None) -> Any:
    """Framewise displacement per volume with the configured limit drawn."""
    fig = _figure(7.5, 2.6)
    _draw_fd(fig.subplots(), data, limit_mm)
    return fig


def dec_colours(fa: np.ndarray, v1: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB (..., 3) = |v1| · FA inside the mask, black outside, ``NAN_COLOUR`` where the fit failed."""
    failed = mask & ~(np.isfinite(fa) & np.all(np.isfinite(v1), axis=-1))
    norm = np.linalg.norm(np.nan_to_num(v1), axis=-1, keepdims=True)
    direction = np.abs(np.nan_to_num(v1)) / np.where(norm > 0, norm, 1.0)
    rgb = np.clip(direction * np.clip(np.nan_to_num(fa), 0.0, 1.0)[..., None], 0.0, 1.0)
    rgb[~mask] = 0.0
    rgb[failed] = NAN_COLOUR
    return rgb


def _axial_indices(mask: np.ndarray, count: int) -> list[int]:
    """``count`` axial slices spread over the mask's extent (over the volume if the mask is empty)."""
    occupied = np.flatnonzero(mask.any(axis=(0, 1)))
    low, high = (occupied[0], occupied[-1]) if occupied.size else (0, mask.shape[2] - 1)
    return sorted({int(k) for k in np.rint(np.linspace(low, high, count + 2)[1:-1])})


def fa_colour_figure(data: SessionQcData, n_slices: int = 6) -> Any:
    """Direction-encoded FA (red left-right, green front-back, blue up-down), axial slices."""
    if data.fa is None or data.v1 is None:
        raise ValueError("the direction-encoded FA figure needs the tensor fit's FA and v1 maps")
    rgb = dec_colours(data.fa, data.v1, data.mask)
    slices = _axial_indices(data.mask, n_slices)
    fig = _figure(7.5, 5.4)
    axes = fig.subplots(2, math.ceil(len(slices) / 2), squeeze=False).ravel()
    for ax in axes[len(slices) :]:
        ax.set_axis_off()
    for ax, k in zip(axes, slices, strict=False):
        ax.imshow(np.transpose(rgb[:, :, k], (1, 0, 2)), origin="lower", aspect=_aspect(data, "axial"))
        ax.set_title(f"z = {k}", fontsize=9)
        ax.set_axis_off()
    n_failed = int((data.mask & ~np.isfinite(data.fa)).sum())
    fig.suptitle(f"|v1| · FA; magenta: {n_failed} mask voxels where the tensor fit failed", fontsize=9)
    return fig


def shells(bvals: np.ndarray) -> np.ndarray:
    """Each volume's shell b-value (dipy's grouping of b-values within its tolerance); 0 for b0."""
    from dipy.core.gradients import unique_bvals_tolerance

    centres = unique_bvals_tolerance(np.asarray(bvals, dtype=float))
    nearest = centres[np.argmin(np.abs(np.asarray(bvals)[:, None] - centres[None, :]), axis=1)]
    return np.where(bvals <= B0_THRESHOLD, 0.0, nearest)


def bvec_sphere_figure(data: SessionQcData) -> Any:
    """Every diffusion direction and its antipode on the unit sphere, coloured by shell."""
    fig = _figure(4.6, 4.2)
    ax = fig.add_subplot(projection="3d")
    shell = shells(data.bvals)
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for n, value in enumerate(v for v in np.unique(shell) if v > 0):
        vectors = data.bvecs[shell == value]
        points = np.vstack([vectors, -vectors])
        colour = colours[n % len(colours)]
        label = f"b = {value:g} ({len(vectors)} dirs)"
        ax.scatter(*points.T, s=10, color=colour, depthshade=False, label=label)
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    ax.set_zlim(-1, 1)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("x (R)", fontsize=8)
    ax.set_ylabel("y (A)", fontsize=8)
    ax.set_zlabel("z (S)", fontsize=8)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def carpet_rows(series: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mask voxels x volumes, each voxel z-scored over volumes, ordered by slice then row.

    Slice order makes a slice-wise dropout or interleaved-motion artefact a block, as in
    Power's carpet plots; at most ``CARPET_MAX_ROWS`` rows, evenly spaced in that order.
    """
    points = np.argwhere(mask)
    order = np.lexsort((points[:, 0], points[:, 1], points[:, 2]))
    points = points[order]
    if len(points) > CARPET_MAX_ROWS:
        points = points[np.linspace(0, len(points) - 1, CARPET_MAX_ROWS).round().astype(int)]
    signal = series[points[:, 0], points[:, 1], points[:, 2]].astype(np.float64)
    spread = signal.std(axis=1, keepdims=True)
    return (signal - signal.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)


def carpet_figure(data: SessionQcData) -> Any:
    """Carpet plots of the mask voxels before and after preprocessing."""
    fig = _figure(7.5, 3.6)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (label, series) in zip(
        axes, [("raw", data.raw), ("preprocessed", data.preprocessed)], strict=True
    ):
        image = ax.imshow(
            carpet_rows(series, data.mask),
            aspect="auto",
            cmap="gray",
            vmin=-2,
            vmax=2,
            interpolation="nearest",
        )
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("volume")
    axes[0].set_ylabel("mask voxels (by slice)")
    fig.colorbar(image, ax=axes, shrink=0.8, label="z-score per voxel")
    return fig


def key_figure_png(data: SessionQcData, fd_limit_mm: float | None) -> bytes:
    """The figure for the asset's page: mask on the preprocessed b0 above the FD trace."""
    fig = _figure(7.5, 4.6)
    grid = fig.add_gridspec(2, 3, height_ratios=[1.6, 1])
    _draw_mask_row(
        [fig.add_subplot(grid[0, c]) for c in range(3)],
        mean_b0(data.preprocessed, data.bvals),
        data,
        "preprocessed b0",
    )
    _draw_fd(fig.add_subplot(grid[1, :]), data, fd_limit_mm)
    return figure_png(fig)


# --- the page -----------------------------------------------------------------------------


def fd_limit(rows: Iterable[QcRow]) -> float | None:
    """The upper limit the thresholds set on the largest FD, for drawing on the FD trace."""
    return next(
        (
            limit.value
            for row in rows
            if row.metric == FD_METRIC
            for limit in row.limits
            if limit.side == "max"
        ),
        None,
    )


def report_figures(data: SessionQcData, rows: Sequence[QcRow]) -> list[tuple[str, str, bytes]]:
    """(title, caption, PNG) of each figure, in page order."""
    fd_max = fd_limit(rows)
    limit_text = (
        f"the dashed line is the {fd_max:g} mm limit" if fd_max is not None else "no limit configured"
    )
    figures = [
        (
            "Brain mask",
            "Mask outline (red) on the mean b0 before and after preprocessing.",
            figure_png(mask_overlay_figure(data)),
        ),
        (
            "Head motion",
            f"Framewise displacement (Power, 50 mm radius) per volume; {limit_text}.",
            figure_png(fd_figure(data, fd_max)),
        ),
    ]
    if data.fa is not None and data.v1 is not None:
        figures.append(
            (
                "Direction-encoded FA",
                "Principal diffusion direction coloured red left-right, green "
                "front-back, blue up-down, brightness FA; magenta marks failed tensor fits.",
                figure_png(fa_colour_figure(data)),
            )
        )
    return [
        *figures,
        (
            "Gradient directions",
            "Each b-vector and its antipode on the unit sphere, by shell.",
            figure_png(bvec_sphere_figure(data)),
        ),
        (
            "Carpet plot",
            "Mask voxels (rows, by slice) x volumes, z-scored per voxel, before and after "
            "preprocessing; b0 volumes show as bright columns.",
            figure_png(carpet_figure(data)),
        ),
    ]


def qc_table_html(rows: Sequence[QcRow], unbound: Sequence[Limit]) -> str:
    table = _table(
        ["metric", "value", "unit", "limit", "result", "meaning"],
        [[r.metric, r.value, r.unit, r.limit_text, r.result, r.meaning] for r in rows],
        [{None: "none", True: "pass", False: "fail"}[r.passed] for r in rows],
    )
    if not unbound:
        return table
    others = _table(
        ["threshold", "value", "description"], [[u.name, u.value, u.description] for u in unbound]
    )
    return f"{table}<h3>Thresholds configured for other checks</h3>{others}"


_STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:auto;padding:0 1em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
    "tr.fail td{background:#fdd}tr.pass td:nth-child(5){color:#080}tr.fail td:nth-child(5){color:#c00;"
    "font-weight:bold}figure{margin:1em 0}figcaption{font-size:13px;color:#444}"
)


def _summary(data: SessionQcData) -> str:
    shell_counts = ", ".join(
        f"b={value:g}: {count}"
        for value, count in zip(*np.unique(shells(data.bvals), return_counts=True), strict=True)
    )
    grid = " x ".join(map(str, data.mask.shape))
    voxel = " x ".join(f"{z:.3g}" for z in data.voxel_size_mm)
    return (
        f"{data.raw.shape[-1]} volumes ({shell_counts}); grid {grid} voxels of {voxel} mm; "
        f"{int(data.mask.sum())} voxels in the brain mask."
    )


def _verdict(rows: Sequence[QcRow]) -> str:
    failing = [r.metric for r in rows if r.passed is False]
    if failing:
        return f"{len(failing)} QC value(s) outside their limits: {', '.join(failing)}"
    return "every QC value with a limit is within it"


def build_session_report_html(
    session: str,
    data: SessionQcData,
    rows: Sequence[QcRow],
    unbound: Sequence[Limit] = (),
    notes: Sequence[tuple[str, str, str]] = (),
) -> str:
    """The whole report as one self-contained HTML page (figures inline as base64 PNG)."""
    how = f"<h2>How each stage ran</h2>{_table(['stage', 'what it did', 'meaning'], notes)}" if notes else ""
    figures = "".join(
        f"<h2>{html.escape(title)}</h2><figure><img alt='{html.escape(title)}' src='{png_data_uri(png)}'/>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for title, caption, png in report_figures(data, rows)
    )
    title = f"Diffusion QC: {html.escape(session)}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_STYLE}</style>"
        f"</head><body><h1>{title}</h1><p>{html.escape(_summary(data))}</p>"
        f"<p><b>{html.escape(_verdict(rows))}</b></p><h2>QC table</h2>{qc_table_html(rows, unbound)}"
        f"{how}{figures}</body></html>"
    )
