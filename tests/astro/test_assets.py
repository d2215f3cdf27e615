"""The astro graph end to end through Dagster on the small demo plus bad files (slow: trains three models)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from brainstar.domain.astro import registry
from platform_assets.astro import assets, checks, layout
from resources import LandingZone, ModelRegistry, TorchDevice, Warehouse
from tests.conftest import tree_digest


def _run(landing: Path, warehouse: Path, selection: list | None = None) -> dg.ExecuteInProcessResult:
    resources = {
        "landing_zone": LandingZone(root=str(landing)),
        "warehouse": Warehouse(root=str(warehouse)),
        # The default store: SQLite and artifacts under the warehouse.
        "model_registry": ModelRegistry(tracking_uri=f"sqlite:///{warehouse.resolve() / 'mlflow.db'}"),
        "torch_device": TorchDevice(requested="cpu"),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [*assets.ASSETS, *checks.CHECKS],
            resources=resources,
            instance=instance,
            selection=selection,
            raise_on_error=False,
        )


@pytest.mark.slow
def test_graph_ingests_skips_bad_files_trains_and_promotes_only_passing_models(
    tmp_path: Path, bad_landing: tuple[Path, dict[str, str]]
) -> None:
    landing, problems = bad_landing
    warehouse = tmp_path / "warehouse"
    before = tree_digest(landing)
    result = _run(landing, warehouse)
    assert tree_digest(landing) == before

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {
        f"astro/{n}" for n in ("sdss_spectra", "kepler_lightcurves", "gaia_photometry", "feature_store")
    } <= (materialized)
    bad_reported = set()
    for name in assets.SURVEY_ASSETS.values():
        report = json.loads((warehouse / "astro" / name / layout.REPORT_FILE).read_text())
        bad_reported |= {f"astro/{report['survey']}/{f['file']}" for f in report["failures"]}
    assert bad_reported == set(problems)

    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }
    assert evaluations[("astro/sdss_spectra", "no_bad_files")] is False  # warning, listed
    assert all(
        evaluations[("astro/feature_store", f"{m}_expectations")] for m in ("spectral", "lightcurve", "sed")
    )
    assert evaluations[("astro/splits", "no_source_in_two_splits")]
    # Parquet outputs carry their columns, row count and first rows to the UI.
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    gaia = metadata["astro/gaia_photometry"]
    assert "source_id" in {c.name for c in gaia["dagster/column_schema"].schema.columns}
    assert len(gaia["preview"].value.records) == min(5, gaia["dagster/row_count"].value) > 0
    assert {"spectral_preview", "lightcurve_preview", "sed_preview"} <= set(metadata["astro/feature_store"])

    where = registry.sqlite_location(warehouse)
    for modality in ("spectral", "lightcurve", "sed"):
        card = json.loads((warehouse / "astro" / f"{modality}_model" / layout.CARD_FILE).read_text())
        assert registry.versions(where, modality) == [1]  # recorded whether or not it passed
        assert registry.card(where, modality, 1)["run_id"] == card["run_id"]
        gates_ok = (
            evaluations[(f"astro/{modality}_model", "floors")]
            and evaluations[(f"astro/{modality}_model", "beats_baseline")]
        )
        assert gates_ok == card["passed"]
        # production alias exactly when the gates passed; a failing model is never aliased
        assert (registry.aliases(where, modality).get("production") == 1) == card["passed"]
        assert (f"astro/promote_{modality}_model" in materialized) == card["passed"]

    # Incremental: a second ingestion reads nothing new.
    again = _run(landing, warehouse, selection=[assets.sdss_spectra.key])
    assert again.success
    report = json.loads((warehouse / "astro" / "sdss_spectra" / layout.REPORT_FILE).read_text())
    assert report["n_read_files"] == 0 and report["n_reused_files"] == report["n_files"] - 4
