"""The per-session QC report: one HTML page, linked from the asset and its key figure shown inline."""

import json

import dagster as dg
import numpy as np

from brainstar.core import pools
from brainstar.core.atomic import write_text_atomic
from brainstar.domain.neuro import bids, dwi_session, preprocess
from brainstar.domain.neuro import qc_report as pages
from platform_assets.metadata import markdown_table
from platform_assets.neuro.assets import (
    _session_asset,
    bids_session,
    dti_maps,
    load_preprocessed,
    preprocessed_dwi,
)
from platform_assets.neuro.layout import SessionOutputs
from resources import NeuroQcThresholds, Warehouse

REPORT_NAME = "report.html"


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


# bids_session: the raw series the carpet plot and the raw mean b0 are drawn from.
@_session_asset("qc_report", {"html"}, pools.PROCESSING, deps=[bids_session, preprocessed_dwi, dti_maps])
def qc_report(
    context: dg.AssetExecutionContext, neuro_qc: NeuroQcThresholds, warehouse: Warehouse
) -> dg.MaterializeResult:
    """QSIPrep-style QC report of one session (HTML): mask, motion, DEC FA, gradients, carpet, QC table."""
    outputs = SessionOutputs(warehouse, context.partition_key)
    raw, _, _, _ = bids.load_series(outputs.bids)
    data, affine, bvals, bvecs, mask = load_preprocessed(outputs)
    fd, rejected = _motion(outputs)
    fa, md = _map(outputs, "fa"), _map(outputs, "md")
    session = pages.SessionQcData(
        raw=raw,
        preprocessed=data,
        mask=mask,
        bvals=bvals,
        bvecs=bvecs,
        fa=fa,
        v1=_map(outputs, "v1"),
        framewise_displacement_mm=fd,
        rejected=rejected,
    ).in_ras(affine)

    values = {
        **json.loads(outputs.preprocessed("qc.json").read_text()),
        **pages.map_values(fa, md, mask),
    }
    fields = {**preprocess.QC_FIELDS, **pages.MAP_FIELDS}
    bound, unbound = pages.bind_limits(*_thresholds(neuro_qc), fields)
    rows = pages.qc_rows(values, fields, bound)
    path = write_text_atomic(
        outputs.folder("qc_report") / REPORT_NAME,
        pages.build_session_report_html(context.partition_key, session, rows, unbound),
    )
    key_figure = pages.key_figure_png(session, pages.fd_limit(rows))
    failing = [row.metric for row in rows if row.passed is False]
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(path)),
            "key_figure": dg.MetadataValue.md(f"![key figure]({pages.png_data_uri(key_figure)})"),
            "qc": markdown_table(
                ["metric", "value", "unit", "limit", "result"],
                [[r.metric, r.value, r.unit, r.limit_text, r.result] for r in rows],
            ),
            "n_values_failing": len(failing),
            "values_failing": dg.MetadataValue.json(failing),
        }
    )
