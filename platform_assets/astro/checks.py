"""Astro asset checks: GE suites on the feature store, split integrity, model gates. Read warehouse files."""

import json

import dagster as dg

from brainstar.domain.astro import evaluation, expectations, features, pipeline
from platform_assets.astro.assets import (
    CARD_FILE,
    MODEL_ASSETS,
    REPORT_FILE,
    SPLITS_FILE,
    feature_store,
    gaia_photometry,
    kepler_lightcurves,
    sdss_spectra,
    splits,
)
from resources import Warehouse


def _ingest_check(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="no_bad_files",
        description="Every landed file was readable; bad files are listed (warning, the rest was ingested).",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        report = json.loads(warehouse.file(asset.key, REPORT_FILE).read_text())
        return dg.AssetCheckResult(
            passed=not report["failures"],
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "measured": len(report["failures"]),
                "reference": 0,
                "tolerance": 0,
                "bad_files": dg.MetadataValue.json(report["failures"]),
            },
        )

    return _check


def _suite_check(modality: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=feature_store,
        name=f"{modality}_expectations",
        blocking=True,
        description=f"Great Expectations suite on the {modality} table: ranges, nulls, uniqueness.",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        frame, version = features.read_table(warehouse.file(feature_store.key, f"{modality}.parquet"))
        success, results = expectations.validate(modality, frame)
        failed = [r for r in results if not r["success"]]
        return dg.AssetCheckResult(
            passed=success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "measured": len(failed),
                "reference": 0,
                "tolerance": 0,
                "n_expectations": len(results),
                "content_version": version,
                "results": dg.MetadataValue.json(results),
            },
        )

    return _check


@dg.asset_check(
    asset=splits,
    blocking=True,
    description="No source id (star) appears in more than one of train / val / test.",
)
def no_source_in_two_splits(warehouse: Warehouse) -> dg.AssetCheckResult:
    table, _ = features.read_table(warehouse.file(splits.key, SPLITS_FILE))
    leaked = pipeline.sources_in_several_splits(table)
    return dg.AssetCheckResult(
        passed=not leaked,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "measured": len(leaked),
            "reference": 0,
            "tolerance": 0,
            "leaked": dg.MetadataValue.json(leaked[:20]),
        },
    )


def _gate_check(
    modality: str, name: str, gate_prefixes: tuple[str, ...], description: str
) -> dg.AssetChecksDefinition:
    asset = MODEL_ASSETS[modality]

    @dg.asset_check(asset=asset, name=name, blocking=True, description=description)
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        card = json.loads(warehouse.file(asset.key, CARD_FILE).read_text())
        gates = [g for g in card["gates"] if g["name"].startswith(gate_prefixes)]
        return dg.AssetCheckResult(
            passed=bool(gates) and all(g["passed"] for g in gates),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "measured": dg.MetadataValue.json({g["name"]: g["measured"] for g in gates}),
                "reference": dg.MetadataValue.json({g["name"]: g["reference"] for g in gates}),
                "tolerance": dg.MetadataValue.json({g["name"]: g["direction"] for g in gates}),
                "registry_version": card["version"],
            },
        )

    return _check


INGEST_CHECKS = [_ingest_check(a) for a in (sdss_spectra, kepler_lightcurves, gaia_photometry)]
SUITE_CHECKS = [_suite_check(m) for m in pipeline.MODALITIES]
GATE_CHECKS = [
    check
    for modality in pipeline.MODALITIES
    for check in (
        _gate_check(
            modality,
            "floors",
            ("floor:",),
            f"{modality} model meets its floors {evaluation.FLOORS[modality]}.",
        ),
        _gate_check(
            modality,
            "beats_baseline",
            ("not_worse_than_baseline:", "beats_baseline:"),
            f"{modality} model: no primary metric worse than the baseline's, one strictly better.",
        ),
    )
]
CHECKS = [*INGEST_CHECKS, *SUITE_CHECKS, no_source_in_two_splits, *GATE_CHECKS]
