"""Quality gates on neuro assets. Each check reads what its asset wrote to the warehouse.

Per-session gates are blocking unless they only warn (a fall in neighbouring-DWI
correlation): a failure stops that session's downstream assets in the same run and no
other session's (each session runs in its own run). They are partitioned like their assets,
so each session has its own result: the UI shows a check's status per partition, and a bad
session does not turn the check red for the others. The cohort check imports pandas in its
body, so loading the code location stays cheap.
"""

import json
from collections.abc import Iterator

import dagster as dg
import numpy as np

from brainstar.domain.neuro import bids, dwi_session, masking
from platform_assets.neuro.assets import bids_session, cohort_table, dti_maps, preprocessed_dwi, raw_session
from platform_assets.neuro.layout import SessionOutputs, cohort_table_path
from platform_assets.neuro.partitions import neuro_sessions
from platform_assets.specs import quiet_partitioned_check_preview
from resources import NeuroQcThresholds, Warehouse

quiet_partitioned_check_preview()


def _result(
    passed: bool,
    description: str,
    metadata: dict[str, object],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    **key: object,
) -> dg.AssetCheckResult:
    """A failing result is an error unless ``severity`` says otherwise; ``key`` names the check
    inside a multi-asset check."""
    return dg.AssetCheckResult(
        passed=bool(passed),
        severity=severity,
        description=description,
        metadata=metadata,
        **key,
    )


@dg.asset_check(
    asset=raw_session,
    partitions_def=neuro_sessions,
    blocking=True,
    description="Headers agree: gradients match the 4th dimension, b-values plausible, unit b-vectors.",
)
def headers_consistent(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    record = json.loads(SessionOutputs(warehouse, context.partition_key).inventory.read_text())
    headers = record["headers"]
    return _result(
        not headers["issues"],
        "; ".join(headers["issues"]) or "headers consistent",
        {"input_format": record["format"], "n_volumes": headers["n_volumes"], "issues": headers["issues"]},
    )


@dg.asset_check(
    asset=bids_session,
    partitions_def=neuro_sessions,
    blocking=True,
    description="The session's files follow the BIDS layout.",
)
def bids_layout_valid(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    problems = bids.validate_layout(SessionOutputs(warehouse, context.partition_key).bids)
    return _result(not problems, "; ".join(problems) or "valid BIDS layout", {"problems": problems})


# These gates bound values that preprocessed_dwi also reports as metadata, but their limits
# come from the neuro_qc resource at run time, which build_metadata_bounds_checks (bounds
# fixed when the definitions load) cannot take; so they read qc.json once, here.
@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "mask_coverage_plausible",
            asset=preprocessed_dwi,
            partitions_def=neuro_sessions,
            blocking=True,
            description="Brain mask covers a plausible share of the field of view.",
        ),
        dg.AssetCheckSpec(
            "motion_within_limit",
            asset=preprocessed_dwi,
            partitions_def=neuro_sessions,
            blocking=True,
            description="Largest framewise displacement stays below the configured limit (mm).",
        ),
        dg.AssetCheckSpec(
            "ndc_not_degraded",
            asset=preprocessed_dwi,
            partitions_def=neuro_sessions,
            blocking=False,
            description="Warns when neighbouring-DWI correlation falls from raw to preprocessed data.",
        ),
    ]
)
def preprocessing_qc_gates(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, neuro_qc: NeuroQcThresholds
) -> Iterator[dg.AssetCheckResult]:
    qc = json.loads(SessionOutputs(warehouse, context.partition_key).preprocessed("qc.json").read_text())
    yield _mask_coverage_result(qc, neuro_qc)
    limit = neuro_qc.max_framewise_displacement_mm
    yield _result(
        qc["fd_max_mm"] < limit,
        f"max FD {qc['fd_max_mm']:.2f} mm (limit {limit:g} mm)",
        {"fd_max_mm": qc["fd_max_mm"], "fd_mean_mm": qc["fd_mean_mm"], "limit_mm": limit},
        asset_key=preprocessed_dwi.key,
        check_name="motion_within_limit",
    )
    yield _ndc_result(qc["ndc_raw"], qc["ndc_preprocessed"], neuro_qc.ndc_max_drop)


def _mask_coverage_result(qc: dict, neuro_qc: NeuroQcThresholds) -> dg.AssetCheckResult:
    """The ceiling holds only where the mask method can overreach (``masking.coverage_has_ceiling``)."""
    low, high = neuro_qc.mask_fraction_min, neuro_qc.mask_fraction_max
    method = qc["mask_method"]
    if not masking.coverage_has_ceiling(method):
        high = 1.0
    return _result(
        low <= qc["mask_fraction"] <= high,
        f"{method} mask covers {qc['mask_fraction']:.1%} of the FOV (allowed {low:.0%} to {high:.0%})",
        {
            "mask_fraction": qc["mask_fraction"],
            "mask_voxels": qc["mask_voxels"],
            "mask_method": method,
            "mask_note": qc["mask_note"],
            "min": low,
            "max": high,
        },
        asset_key=preprocessed_dwi.key,
        check_name="mask_coverage_plausible",
    )


def _ndc_result(raw: float, preprocessed: float, max_drop: float) -> dg.AssetCheckResult:
    """Denoising should raise the correlation of neighbouring DWIs; a fall means the corrected
    volumes disagree more than the acquired ones (misregistration, interpolation)."""
    drop = raw - preprocessed
    measurable = np.isfinite(drop)
    return _result(
        not (measurable and drop > max_drop),
        f"NDC {raw:.3f} raw, {preprocessed:.3f} preprocessed (largest allowed fall {max_drop:g})"
        if measurable
        else "NDC not measurable (fewer than two diffusion-weighted volumes per shell)",
        {"ndc_raw": raw, "ndc_preprocessed": preprocessed, "ndc_drop": drop, "max_drop": max_drop},
        dg.AssetCheckSeverity.WARN,
        asset_key=preprocessed_dwi.key,
        check_name="ndc_not_degraded",
    )


def _in_mask(outputs: SessionOutputs, dti_map: str) -> tuple[np.ndarray, int]:
    """The values of a DTI map inside the brain mask, as written, and the mask's voxel count."""
    values = np.asarray(dwi_session.load_image(outputs.dti_map(dti_map)).get_fdata())
    mask = np.asarray(dwi_session.load_image(outputs.preprocessed("mask.nii.gz")).dataobj).astype(bool)
    return values[mask], int(mask.sum())


@dg.asset_check(
    asset=dti_maps,
    partitions_def=neuro_sessions,
    additional_deps=[preprocessed_dwi],  # the brain mask
    blocking=True,
    description="FA as fitted (nothing clipped) lies in [0, 1] with no NaN inside the brain mask.",
)
def fa_valid(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    inside, mask_voxels = _in_mask(SessionOutputs(warehouse, context.partition_key), "fa")
    n_nan = int(np.isnan(inside).sum())
    finite = inside[np.isfinite(inside)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (np.nan, np.nan)
    return _result(
        n_nan == 0 and finite.size > 0 and low >= 0.0 and high <= 1.0,
        f"FA in mask spans [{low:.3f}, {high:.3f}], {n_nan} NaN",
        {"fa_min": low, "fa_max": high, "n_nan_in_mask": n_nan, "mask_voxels": mask_voxels},
    )


# Physical plausibility of the fit; NaN voxels are fa_valid's to report, so these use the finite ones.
@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "md_plausible",
            asset=dti_maps,
            partitions_def=neuro_sessions,
            additional_deps=[preprocessed_dwi],  # the brain mask
            blocking=True,
            description="MD in the brain mask, at a high percentile, stays near free water's (3e-3 mm^2/s).",
        ),
        dg.AssetCheckSpec(
            "fa_median_plausible",
            asset=dti_maps,
            partitions_def=neuro_sessions,
            additional_deps=[preprocessed_dwi],
            blocking=True,
            description="Median FA in the brain mask lies in the configured range of real brains.",
        ),
    ]
)
def dti_plausibility_gates(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse, neuro_qc: NeuroQcThresholds
) -> Iterator[dg.AssetCheckResult]:
    outputs = SessionOutputs(warehouse, context.partition_key)
    md, _ = _in_mask(outputs, "md")
    md = md[np.isfinite(md)]
    percentile, ceiling = neuro_qc.md_percentile, neuro_qc.md_max_mm2_per_s
    md_at = float(np.percentile(md, percentile)) if md.size else float("nan")
    yield _result(
        md_at <= ceiling,
        f"MD {md_at:.2e} mm^2/s at the {percentile:g}th percentile in the mask (ceiling {ceiling:.1e})",
        {
            "md_at_percentile_mm2_per_s": md_at,
            "md_median_mm2_per_s": float(np.median(md)) if md.size else float("nan"),
            "percentile": percentile,
            "ceiling_mm2_per_s": ceiling,
            "finite_voxels": int(md.size),
        },
        asset_key=dti_maps.key,
        check_name="md_plausible",
    )
    fa, _ = _in_mask(outputs, "fa")
    fa = fa[np.isfinite(fa)]
    low, high = neuro_qc.fa_median_min, neuro_qc.fa_median_max
    median = float(np.median(fa)) if fa.size else float("nan")
    yield _result(
        low <= median <= high,
        f"median FA {median:.3f} in the mask (allowed {low:g} to {high:g})",
        {"fa_median": median, "min": low, "max": high, "finite_voxels": int(fa.size)},
        asset_key=dti_maps.key,
        check_name="fa_median_plausible",
    )


@dg.asset_check(
    asset=cohort_table,
    description="Flags sessions whose QC metrics are outliers across the cohort (robust z-score; warning).",
)
def cohort_outliers(warehouse: Warehouse, neuro_qc: NeuroQcThresholds) -> dg.AssetCheckResult:
    import pandas as pd

    from brainstar.domain.neuro import cohort

    table = pd.read_parquet(cohort_table_path(warehouse))
    flagged = cohort.outliers(table, neuro_qc.outlier_robust_z)
    judged = len(table) >= cohort.MIN_SESSIONS_FOR_OUTLIERS
    return dg.AssetCheckResult(
        passed=flagged.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(flagged)} outlying QC value(s) across {len(table)} sessions"
            if judged
            else f"not judged: {len(table)} session(s), outliers need at least "
            f"{cohort.MIN_SESSIONS_FOR_OUTLIERS} to stand out from"
        ),
        metadata={
            "n_sessions": len(table),
            "judged": judged,
            "threshold_robust_z": neuro_qc.outlier_robust_z,
            "outliers": dg.MetadataValue.md(
                flagged.to_markdown(index=False) if not flagged.empty else "none"
            ),
        },
    )


session_checks = [
    headers_consistent,
    bids_layout_valid,
    preprocessing_qc_gates,
    fa_valid,
    dti_plausibility_gates,
]
