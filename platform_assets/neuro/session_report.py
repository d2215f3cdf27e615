"""The session QC report from the warehouse files, written where an asset asks and summarised as metadata.

Two assets write it: ``preprocessed_dwi`` (without the tensor figures) so that a session whose
preprocessing gate fails still shows its figures, since a failed blocking check stops every
asset downstream in the run; and ``qc_report``, the full page once the tensor maps exist.
"""

import json
from pathlib import Path

import dagster as dg
import numpy as np

from brainstar.core.atomic import write_text_atomic
from brainstar.domain.neuro import bids, dwi_session, masking, preprocess
from brainstar.domain.neuro import qc_report as pages
from platform_assets.metadata import key_figure as metadata_key_figure
from platform_assets.metadata import markdown_table
from platform_assets.neuro.layout import SessionOutputs, load_preprocessed
from resources import NeuroQcThresholds


def _map(outputs: SessionOutputs, name: str) -> np.ndarray:
    return np.asarray(dwi_session.load_image(outputs.dti_map(name)).get_fdata(dtype=np.float32))


def _motion(outputs: SessionOutputs) -> tuple[np.ndarray, np.ndarray | None]:
    """Framewise displacement per volume and, when preprocessing recorded it, the rejected volumes."""
    import pandas as pd

    table = pd.read_csv(outputs.preprocessed("motion.csv"))
    rejected = table.get(pages.REJECTED_COLUMN)
    return (
        table["framewise_displacement_mm"].to_numpy(dtype=float),
        None if rejected is None else rejected.to_numpy(dtype=bool),
    )


def _thresholds(neuro_qc: NeuroQcThresholds) -> tuple[dict[str, object], dict[str, str]]:
    """Every configured threshold with its description, whatever fields the resource has."""
    fields = type(neuro_qc).model_fields
    return neuro_qc.model_dump(), {name: field.description or "" for name, field in fields.items()}


def write_session_report(
    outputs: SessionOutputs, neuro_qc: NeuroQcThresholds, target: Path, *, with_tensor: bool
) -> dict[str, object]:
    """Write the HTML page to ``target``; the asset metadata that links and summarises it."""
    raw, _, _, _ = bids.load_series(outputs.bids)
    data, affine, bvals, bvecs, mask = load_preprocessed(outputs)
    fd, rejected = _motion(outputs)
    values = json.loads(outputs.preprocessed("qc.json").read_text())
    fields = dict(preprocess.QC_FIELDS)
    fa = v1 = None
    if with_tensor:
        fa = _map(outputs, "fa")
        v1 = _map(outputs, "v1")
        values.update(pages.map_values(fa, _map(outputs, "md"), mask))
        fields.update(pages.MAP_FIELDS)
    session = pages.SessionQcData(
        raw=raw,
        preprocessed=data,
        mask=mask,
        bvals=bvals,
        bvecs=bvecs,
        framewise_displacement_mm=fd,
        rejected=rejected,
        fa=fa,
        v1=v1,
    ).in_ras(affine)
    limits, descriptions = _thresholds(neuro_qc)
    if not masking.coverage_has_ceiling(values["mask_method"]):
        limits.pop("mask_fraction_max")  # as the mask_coverage_plausible check does
    bound, unbound = pages.bind_limits(limits, descriptions, fields)
    rows = pages.qc_rows(values, fields, bound)
    notes = pages.text_rows(values, fields)
    path = write_text_atomic(
        target, pages.build_session_report_html(outputs.partition_key, session, rows, unbound, notes)
    )
    key_figure = pages.key_figure_png(session, pages.fd_limit(rows))
    failing = [row.metric for row in rows if row.passed is False]
    return {
        "report": dg.MetadataValue.path(str(path)),
        "key_figure": metadata_key_figure(key_figure),
        "qc": markdown_table(
            ["metric", "value", "unit", "limit", "result"],
            [[r.metric, r.value, r.unit, r.limit_text, r.result] for r in rows],
        ),
        "n_values_failing": len(failing),
        "values_failing": dg.MetadataValue.json(failing),
    }
