"""Training time per astro model on this machine's torch device, next to its scikit-learn baseline.

Builds the default demo landing zone (what ``make run`` writes) in a temporary folder with
``astro_quality.build_demo``, and trains and registers each model once on the stored split,
as the model assets do. Reports wall seconds and the held-out primary metric of the model and
of its baseline (the numbers the promotion gates compare), and whether every gate passed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.astro_quality import build_demo
from benchmarks.harness import Table
from brainstar.core import devices
from brainstar.demo.astro.surveys import DemoSizes
from brainstar.domain.astro import pipeline, registry

PRIMARY = {"spectral": "teff_k_rmse", "lightcurve": "macro_f1", "sed": "teff_k_rmse"}


def run() -> Table:
    device = devices.resolve_device("auto")
    table = Table(
        f"astro: model training time on {device}",
        ["model", "train (s)", "epochs", "baseline fit (s)", "metric", "model", "baseline", "gates passed"],
    )
    with tempfile.TemporaryDirectory() as folder:
        built = build_demo(Path(folder), DemoSizes(), seed=0)
        warehouse = Path(folder) / "warehouse"
        # A throw-away MLflow store (SQLite) in the temporary warehouse, whatever the environment names.
        where = registry.sqlite_location(warehouse)
        for modality in pipeline.MODALITIES:
            card = pipeline.train_and_register(modality, built["store"], built["splits"], where, device)
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
    timings = built["timings"]
    ingestion = ", ".join(f"{s} {timings[f'ingest_{s}_s']:.1f} s" for s in ("sdss", "kepler", "gaia"))
    table.notes.append(
        f"demo write {timings['write_s']:.0f} s; ingestion {ingestion} (sequential here; the three ingestion "
        "assets are independent and run in parallel under Dagster's multiprocess executor)."
    )
    return table
