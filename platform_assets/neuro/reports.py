"""The per-session QC report: one HTML page, linked from the asset and its key figure shown inline."""

import dagster as dg

from brainstar.core import pools
from platform_assets.neuro.assets import _session_asset, bids_session, dti_maps, preprocessed_dwi
from platform_assets.neuro.layout import SessionOutputs
from platform_assets.neuro.session_report import write_session_report
from resources import NeuroQcThresholds, Warehouse

REPORT_NAME = "report.html"


# bids_session: the raw series the carpet plot and the raw mean b0 are drawn from.
@_session_asset("qc_report", {"html"}, pools.PROCESSING, deps=[bids_session, preprocessed_dwi, dti_maps])
def qc_report(
    context: dg.AssetExecutionContext, neuro_qc: NeuroQcThresholds, warehouse: Warehouse
) -> dg.MaterializeResult:
    """QSIPrep-style QC report of one session (HTML): mask, motion, DEC FA, gradients, carpet, QC table."""
    outputs = SessionOutputs(warehouse, context.partition_key)
    target = outputs.folder("qc_report") / REPORT_NAME
    return dg.MaterializeResult(metadata=write_session_report(outputs, neuro_qc, target, with_tensor=True))
