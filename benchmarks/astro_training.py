"""Training time per astro model on this machine's torch device, next to its scikit-learn baseline.

Builds the full demo landing zone (500 stars with spectra, 200 Kepler quarters, Gaia
rows) in a temporary folder, ingests it with the pipeline code, and trains each model
once on the stored split. Reports wall seconds and the held-out primary metric of the
model and of its baseline (the numbers the promotion gates compare).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.harness import Table
from brainstar.core import devices
from brainstar.core.landing import survey_files
from brainstar.demo.astro.surveys import write_astro_surveys
from brainstar.domain.astro import photometry, pipeline
from brainstar.domain.astro.formats import LABELS_CATALOG

PRIMARY = {"spectral": "teff_k_rmse", "lightcurve": "macro_f1", "sed": "teff_k_rmse"}


def run() -> Table:
    device = devices.resolve_device("auto")
    table = Table(
        f"astro: model training time on {device}",
        ["model", "train (s)", "epochs", "baseline fit (s)", "metric", "model", "baseline", "gates passed"],
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        landing, warehouse = root / "landing", root / "warehouse"
        start = time.perf_counter()
        write_astro_surveys(landing, seed=0)
        write_s = time.perf_counter() - start
        tables = {}
        ingest_s = {}
        for survey in ("sdss", "kepler", "gaia"):
            start = time.perf_counter()
            tables[survey] = warehouse / f"{survey}.parquet"
            pipeline.ingest_survey(
                survey, survey_files(landing, survey)[0], tables[survey], root / f"{survey}.json"
            )
            ingest_s[survey] = time.perf_counter() - start
        store = warehouse / "store"
        pipeline.build_feature_store(tables, landing / LABELS_CATALOG, store, photometry.GaiaCuts())
        pipeline.make_splits(store, warehouse / "splits.parquet", seed=0)
        for modality in pipeline.MODALITIES:
            card = pipeline.train_and_register(
                modality, store, warehouse / "splits.parquet", warehouse / "registry", device
            )
            metric = PRIMARY[modality]
            table.add(
                modality,
                card["train_stats"]["train_seconds"],
                int(card["train_stats"]["epochs"]),
                card["baseline_seconds"],
                f"test {metric}",
                card["metrics"][metric],
                card["baseline_metrics"][metric],
                card["passed"],
            )
    ingestion = ", ".join(f"{survey} {seconds:.1f} s" for survey, seconds in ingest_s.items())
    table.notes.append(
        f"demo write {write_s:.0f} s; ingestion {ingestion} (sequential here; the three ingestion "
        "assets are independent and run in parallel under Dagster's multiprocess executor)."
    )
    return table
