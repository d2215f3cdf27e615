"""Every astro asset check fails on warehouse files made to fail it (and passes on fixed ones)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from brainstar.domain.astro import expectations, features
from platform_assets.astro import assets, checks, layout
from resources import LandingZone, ModelRegistry, TorchDevice, Warehouse


def _evaluate(warehouse: Path, asset: dg.AssetsDefinition, *names: str) -> dict[str, bool]:
    """Run only the named checks of ``asset`` on the files already in ``warehouse`` -> {name: passed}."""
    keys = [dg.AssetCheckKey(asset.key, name) for name in names]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*assets.ASSETS, *checks.CHECKS],
            resources={
                "landing_zone": LandingZone(root=str(warehouse / "landing")),
                "warehouse": Warehouse(root=str(warehouse)),
                "model_registry": ModelRegistry(),  # required by the model assets, unused by the checks
                "torch_device": TorchDevice(requested="cpu"),
            },
            instance=instance,
            selection=dg.AssetSelection.checks(*keys),
            raise_on_error=False,  # a failed blocking check fails the run; its evaluation is what counts
        )
    assert not result.get_asset_materialization_events()  # the checks ran on their own
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.mark.parametrize("asset", [assets.sdss_spectra, assets.kepler_lightcurves, assets.gaia_photometry])
def test_no_bad_files_fails_when_the_report_lists_a_bad_file(
    tmp_path: Path, asset: dg.AssetsDefinition
) -> None:
    report = tmp_path / "astro" / asset.key.path[-1] / layout.REPORT_FILE
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"failures": [{"file": "x.fits", "problem": "truncated"}]}))
    assert _evaluate(tmp_path, asset, "no_bad_files") == {"no_bad_files": False}
    report.write_text(json.dumps({"failures": []}))
    assert _evaluate(tmp_path, asset, "no_bad_files") == {"no_bad_files": True}


def _rows_keeping_the_suite(modality: str) -> pd.DataFrame:
    """Two rows in range for every rule of the modality's suite, with the unique column repeated."""
    rows: list[dict[str, Any]] = [{}, {}]
    for rule in expectations.SUITES[modality]:
        if rule.values:
            values = [rule.values[0]] * 2
        elif rule.low is not None and rule.high is not None:
            values = [rule.low, rule.high]  # the two ends: every "varies" column varies
        else:
            values = [1, 1] if rule.kind == "unique" else [1, 2]
        for row, value in zip(rows, values, strict=True):
            row.setdefault(rule.column, value)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("modality", ["spectral", "lightcurve", "sed"])
def test_expectations_fail_on_a_repeated_key(tmp_path: Path, modality: str) -> None:
    path = tmp_path / "astro" / "feature_store" / f"{modality}.parquet"
    frame = _rows_keeping_the_suite(modality)
    features.write_table(path, frame)
    name = f"{modality}_expectations"
    assert _evaluate(tmp_path, assets.feature_store, name) == {name: False}
    unique = next(r.column for r in expectations.SUITES[modality] if r.kind == "unique")
    frame[unique] = [1, 2]
    features.write_table(path, frame)
    assert _evaluate(tmp_path, assets.feature_store, name) == {name: True}


def test_no_source_in_two_splits_fails_on_a_star_in_train_and_test(tmp_path: Path) -> None:
    path = tmp_path / "astro" / "splits" / layout.SPLITS_FILE
    table = pd.DataFrame(
        {"modality": ["spectral", "sed"], "key": [10, 7], "source_id": [7, 7], "split": ["train", "test"]}
    )
    features.write_table(path, table)
    assert _evaluate(tmp_path, assets.splits, "no_source_in_two_splits") == {"no_source_in_two_splits": False}
    features.write_table(path, table.assign(split="train"))
    assert _evaluate(tmp_path, assets.splits, "no_source_in_two_splits") == {"no_source_in_two_splits": True}


def _gate(name: str, passed: bool) -> dict[str, Any]:
    return {"name": name, "passed": passed, "measured": 1.0, "reference": 2.0, "direction": "max"}


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        ("floor:teff_k_rmse", {"floors": False, "beats_baseline": True}),
        ("beats_baseline:teff_k_rmse", {"floors": True, "beats_baseline": False}),
        ("not_worse_than_baseline:teff_k_rmse", {"floors": True, "beats_baseline": False}),
    ],
)
def test_each_gate_check_fails_on_its_own_failed_gate(tmp_path: Path, failing: str, expected: dict) -> None:
    names = ["floor:teff_k_rmse", "beats_baseline:teff_k_rmse", "not_worse_than_baseline:teff_k_rmse"]
    card = {"version": 3, "gates": [_gate(name, name != failing) for name in names]}
    for modality, asset in assets.MODEL_ASSETS.items():
        path = tmp_path / "astro" / f"{modality}_model" / layout.CARD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(card))
        assert _evaluate(tmp_path, asset, "floors", "beats_baseline") == expected


def test_a_card_without_gates_fails_both_gate_checks(tmp_path: Path) -> None:
    path = tmp_path / "astro" / "sed_model" / layout.CARD_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "gates": []}))
    expected = {"floors": False, "beats_baseline": False}
    assert _evaluate(tmp_path, assets.sed_model, "floors", "beats_baseline") == expected


def test_one_gate_check_runs_alone(tmp_path: Path) -> None:
    path = tmp_path / "astro" / "sed_model" / layout.CARD_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "gates": [_gate("floor:teff_k_rmse", False)]}))
    assert _evaluate(tmp_path, assets.sed_model, "floors") == {"floors": False}


def test_only_the_ingest_checks_merely_warn() -> None:
    blocking = {
        (spec.asset_key.path[-1], spec.name): spec.blocking
        for check in checks.CHECKS
        for spec in check.check_specs
    }
    assert {key for key, is_blocking in blocking.items() if not is_blocking} == {
        (name, "no_bad_files") for name in assets.SURVEY_ASSETS.values()
    }


@pytest.mark.parametrize(
    ("modality", "column"),
    [(m, r.column) for m, rules in expectations.SUITES.items() for r in rules if r.kind == "varies"],
)
def test_expectations_fail_on_a_column_of_one_value(tmp_path: Path, modality: str, column: str) -> None:
    frame = _rows_keeping_the_suite(modality)
    unique = next(r.column for r in expectations.SUITES[modality] if r.kind == "unique")
    frame[unique] = [1, 2]
    assert expectations.validate(modality, frame)[0]
    frame[column] = frame[column].iloc[0]
    passed, summaries = expectations.validate(modality, frame)
    assert not passed
    assert [s["column"] for s in summaries if not s["success"]] == [column]
