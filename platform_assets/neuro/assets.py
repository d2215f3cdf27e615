"""Neuro assets: one landed session through BIDS, preprocessing, DTI, regions and connectome.

Each body reads its inputs from the warehouse, calls the domain modules of this package
and returns metadata; files are written atomically by those modules. pandas and the modules
built on it or on pydicom are imported inside the bodies that use them, so loading the code
location stays cheap.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import numpy as np
from pydantic import Field

from brainstar.core import pools
from brainstar.core.atomic import atomic_path, write_json_atomic
from brainstar.domain.neuro import bids, dcm2niix, dwi_session, motion, preprocess, reconstruction
from brainstar.domain.neuro import tractography as tracking
from brainstar.domain.neuro.nifti import labels_on_grid, save_nifti
from platform_assets.metadata import parquet_table_metadata, qc_table
from platform_assets.neuro.layout import (
    SessionOutputs,
    cohort_table_path,
    load_preprocessed,
    processed_sessions,
)
from platform_assets.neuro.partitions import neuro_sessions
from platform_assets.neuro.session_report import write_session_report
from platform_assets.operations.placement import runs_in
from platform_assets.operations.resource_usage import record_resource_usage
from platform_assets.operations.retries import TRANSIENT_RETRY_POLICY, fail_fast_unless_transient
from resources import LandingZone, NeuroQcThresholds, Warehouse

GROUP = "neuro"


def _session_asset(
    name: str, kinds: set[str], pool: str, deps: Sequence[dg.AssetsDefinition] = ()
) -> Callable[[Callable[..., dg.MaterializeResult]], dg.AssetsDefinition]:
    """A per-session asset described by its docstring, whose steps take a slot of ``pool`` and
    go to that pool's queue: transient I/O errors retry with backoff, bad input fails at once."""
    decorate = dg.asset(
        key=["neuro", name],
        partitions_def=neuro_sessions,
        group_name=GROUP,
        kinds=kinds,
        deps=list(deps),
        retry_policy=TRANSIENT_RETRY_POLICY,
        **runs_in(pool),
    )
    return lambda function: decorate(record_resource_usage(fail_fast_unless_transient(function)))


@_session_asset("raw_session", {"nifti", "dicom"}, pools.BIDS)
def raw_session(
    context: dg.AssetExecutionContext, landing_zone: LandingZone, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Inventory and header validation of one landed diffusion session."""
    from brainstar.domain.neuro.inventory import inventory_session

    found = inventory_session(landing_zone.session_dir(context.partition_key))
    path = write_json_atomic(SessionOutputs(warehouse, context.partition_key).inventory, found.record)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "input_format": found.record["format"],
            "header_issues": found.n_header_issues,
            **found.summary,
        }
    )


@_session_asset("bids_session", {"bids"}, pools.BIDS, deps=[raw_session])
def bids_session(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The session as BIDS: sub-X/ses-Y/dwi/*_dwi.{nii.gz,bval,bvec,json}."""
    outputs = SessionOutputs(warehouse, context.partition_key)
    inventory = json.loads(outputs.inventory.read_text())
    target = outputs.bids
    if inventory["format"] == "dicom":
        target.folder.mkdir(parents=True, exist_ok=True)
        converted = dcm2niix.convert_dicom_to_nifti(Path(inventory["source"]), target.folder, target.stem)
        bids.place_converted_series(converted.paths(), target)
        dwi_session.inspect_headers(target.files)  # dcm2niix's gradients must match its volumes
    else:
        files = dwi_session.DwiFiles(**{k: Path(v) for k, v in inventory["files"].items()})
        bids.copy_nifti_session(files, target, inventory["headers"])
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target.folder)),
            "dataset_root": dg.MetadataValue.path(str(target.root)),
            "converter": "dcm2niix " + dcm2niix.dcm2niix_version()
            if inventory["format"] == "dicom"
            else "copy",
        }
    )


@_session_asset("preprocessed_dwi", {"nifti", "dipy"}, pools.HEAVY, deps=[bids_session])
def preprocessed_dwi(
    context: dg.AssetExecutionContext, neuro_qc: NeuroQcThresholds, warehouse: Warehouse
) -> dg.MaterializeResult:
    """QSIPrep-like preprocessing: MP-PCA denoising, Gibbs unringing, rigid motion correction, brain mask."""
    import pandas as pd

    outputs = SessionOutputs(warehouse, context.partition_key)
    data, affine, bvals, bvecs = bids.load_series(outputs.bids)
    result = preprocess.preprocess(data, bvals, bvecs, affine)
    save_nifti(result.data, affine, outputs.preprocessed("dwi.nii.gz"))
    save_nifti(result.mask.astype(np.uint8), affine, outputs.preprocessed("mask.nii.gz"), time_unit="unknown")
    with atomic_path(outputs.preprocessed("dwi.bval")) as tmp:
        np.savetxt(tmp, bvals[None, :], fmt="%g")
    with atomic_path(outputs.preprocessed("dwi.bvec")) as tmp:
        np.savetxt(tmp, dwi_session.fsl_to_voxel_frame(result.bvecs, affine).T, fmt="%.6f")
    motion_table = pd.DataFrame(
        motion.rigid_parameters(result.motion_affines),
        columns=["trans_x_mm", "trans_y_mm", "trans_z_mm", "rot_x_rad", "rot_y_rad", "rot_z_rad"],
    ).assign(framewise_displacement_mm=result.framewise_displacement_mm, **result.motion_volumes)
    with atomic_path(outputs.preprocessed("motion.csv")) as tmp:
        motion_table.to_csv(tmp, index_label="volume")
    qc = asdict(result.qc)
    write_json_atomic(outputs.preprocessed("qc.json"), qc)
    # Drawn here too, without the tensor figures: when a gate on this asset fails, nothing
    # downstream runs, and that session is the one whose figures the user needs.
    report = write_session_report(outputs, neuro_qc, outputs.preprocessed("report.html"), with_tensor=False)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(outputs.preprocessed("dwi.nii.gz"))),
            **qc,  # every QC field, whatever preprocess records
            "report": report["report"],
            "key_figure": report["key_figure"],
            "qc": qc_table(qc, preprocess.QC_FIELDS),
        }
    )


class DtiConfig(dg.Config):
    max_bvalue_s_per_mm2: float = Field(
        default=reconstruction.DEFAULT_MAX_BVALUE,
        description=(
            "Shells above this b-value are left out of the tensor fit and the tracking (diffusion "
            "stops being Gaussian there, and MD comes out low); the lowest shells are used if none "
            "is at or below it."
        ),
    )


def shell_record_path(outputs: SessionOutputs) -> Path:
    """The shells ``dti_maps`` fitted, which ``connectome`` tracks on too."""
    return outputs.folder("dti_maps") / "shells.json"


@_session_asset("dti_maps", {"nifti", "dipy"}, pools.PROCESSING, deps=[preprocessed_dwi])
def dti_maps(
    context: dg.AssetExecutionContext, config: DtiConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Diffusion tensor maps FA, MD, AD, RD and principal direction V1 (dipy TensorModel, WLS) as NIfTI.

    The fit uses the b0 volumes and the shells up to the configured b-value, and the maps keep
    what it gave inside the brain mask (no clipping), for the gates to judge.
    """
    outputs = SessionOutputs(warehouse, context.partition_key)
    data, affine, bvals, bvecs, mask = load_preprocessed(outputs)
    maps = reconstruction.fit_tensor(data, bvals, bvecs, mask, config.max_bvalue_s_per_mm2)
    for name, values in {**maps.scalars(), "v1": maps.v1}.items():
        save_nifti(values, affine, outputs.dti_map(name), time_unit="unknown")
    shells = maps.shells.record()
    write_json_atomic(shell_record_path(outputs), shells)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(outputs.dti_map("fa").parent)),
            # nan-aware: the maps keep what the fit gave, and fa_valid reports any NaN
            "fa_median_in_mask": float(np.nanmedian(maps.fa[mask])),
            "md_median_in_mask_mm2_per_s": float(np.nanmedian(maps.md[mask])),
            **shells,
        }
    )


# raw_session: the label image it recorded; preprocessed_dwi: the brain mask and its grid.
@_session_asset(
    "parcellation_stats", {"parquet"}, pools.PROCESSING, deps=[raw_session, preprocessed_dwi, dti_maps]
)
def parcellation_stats(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per-region mean/median/SD/IQR/coverage of FA, MD, AD, RD (QSIParc's table)."""
    from brainstar.domain.neuro import parcellation

    outputs = SessionOutputs(warehouse, context.partition_key)
    mask_image = dwi_session.load_image(outputs.preprocessed("mask.nii.gz"))
    mask = np.asarray(mask_image.dataobj).astype(bool)
    recorded_labels = json.loads(outputs.inventory.read_text())["files"].get("labels")
    if recorded_labels is not None:
        labels = labels_on_grid(Path(recorded_labels), mask.shape, mask_image.affine)
        source = "session labels.nii.gz"
    else:
        labels, source = parcellation.octant_labels(mask), "fallback: octants of the brain mask"
    maps = {
        name: np.asarray(dwi_session.load_image(outputs.dti_map(name)).dataobj)
        for name in reconstruction.SCALAR_MAPS
    }
    table = parcellation.regional_stats(maps, labels, mask)
    save_nifti(labels, mask_image.affine, outputs.labels, time_unit="unknown")
    with atomic_path(outputs.regional_stats) as tmp:
        table.to_parquet(tmp, index=False)
    fa = table[table["map"] == "fa"]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(outputs.regional_stats)),
            **parquet_table_metadata(outputs.regional_stats),
            "label_source": source,
            "n_regions": int(fa["region"].nunique()),
            "min_region_coverage": float(table["coverage"].min()),
            "fa_by_region": dg.MetadataValue.md(
                fa[["region", "mean", "median", "sd", "n_voxels"]].to_markdown(index=False)
            ),
        }
    )


@_session_asset(
    "connectome", {"numpy", "dipy"}, pools.PROCESSING, deps=[preprocessed_dwi, dti_maps, parcellation_stats]
)
def connectome(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Deterministic tractography on tensor peaks and the region-by-region streamline-count matrix."""
    import pandas as pd

    outputs = SessionOutputs(warehouse, context.partition_key)
    data, affine, bvals, bvecs, mask = load_preprocessed(outputs)
    fa = np.asarray(dwi_session.load_image(outputs.dti_map("fa")).dataobj)
    labels = np.asarray(dwi_session.load_image(outputs.labels).dataobj).astype(np.int16)
    max_bvalue = json.loads(shell_record_path(outputs).read_text())["max_bvalue_s_per_mm2"]
    streamlines, n_seeds = tracking.track(data, bvals, bvecs, mask, fa, affine, max_bvalue=max_bvalue)
    result = tracking.connectome(streamlines, affine, labels, n_seeds)
    with atomic_path(outputs.connectome(".npy")) as tmp:
        np.save(tmp, result.regions)
    region_ids = [f"region_{i}" for i in range(1, result.matrix.shape[0])]
    with atomic_path(outputs.connectome(".csv")) as tmp:
        pd.DataFrame(result.regions, index=region_ids, columns=region_ids).to_csv(tmp)
    upper = result.regions[np.triu_indices_from(result.regions, k=1)]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(outputs.connectome(".csv"))),
            "n_streamlines": result.n_streamlines,
            "n_seeds": result.n_seeds,
            "n_regions": len(region_ids),
            "edge_density": float((upper > 0).mean()) if upper.size else 0.0,
            "streamlines_between_regions": int(upper.sum()),
        }
    )


@dg.asset(
    key=["neuro", "cohort_table"],
    group_name=GROUP,
    kinds={"parquet"},
    deps=[preprocessed_dwi, parcellation_stats],
    automation_condition=dg.AutomationCondition.eager(),
    description="One row per session: preprocessing QC and regional mean FA/MD, updated as sessions arrive.",
)
@record_resource_usage
def cohort_table(warehouse: Warehouse) -> dg.MaterializeResult:
    from brainstar.domain.neuro import cohort

    table = cohort.collect(
        (s.partition_key, s.preprocessed("qc.json"), s.regional_stats) for s in processed_sessions(warehouse)
    )
    path = cohort_table_path(warehouse)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "n_sessions": len(table),
            **parquet_table_metadata(path),
        }
    )


session_assets = [raw_session, bids_session, preprocessed_dwi, dti_maps, parcellation_stats, connectome]
