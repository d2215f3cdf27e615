"""Astro asset checks: GE suites on the feature store, split integrity, model gates. Read warehouse files.

pandas-backed domain modules are imported inside the check bodies: loading the code location stays cheap.
"""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg

from brainstar.domain.astro import evaluation
from brainstar.domain.astro.modalities import MODALITIES
from platform_assets.astro.assets import (
    MODEL_ASSETS,
    feature_store,
    gaia_photometry,
    kepler_lightcurves,
    sdss_spectra,
    splits,
)
from platform_assets.astro.layout import CARD_FILE, REPORT_FILE, SPLITS_FILE
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
        from brainstar.domain.astro import expectations, features

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
    from brainstar.domain.astro import features, pipeline

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


def _gate_result(
    card: dict[str, Any], key: dg.AssetCheckKey, prefixes: tuple[str, ...]
) -> dg.AssetCheckResult:
    gates = [g for g in card["gates"] if g["name"].startswith(prefixes)]
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=bool(gates) and all(g["passed"] for g in gates),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "measured": dg.MetadataValue.json({g["name"]: g["measured"] for g in gates}),
            "reference": dg.MetadataValue.json({g["name"]: g["reference"] for g in gates}),
            "tolerance": dg.MetadataValue.json({g["name"]: g["direction"] for g in gates}),
            "registry_version": card["version"],
        },
    )


def _gate_checks(modality: str) -> dg.AssetChecksDefinition:
    """``floors`` and ``beats_baseline`` of one model: both judge the gates recorded in its card."""
    asset = MODEL_ASSETS[modality]
    gate_prefixes = {"floors": ("floor:",), "beats_baseline": ("not_worse_than_baseline:", "beats_baseline:")}
    descriptions = {
        "floors": f"{modality} model meets its floors {evaluation.FLOORS[modality]}.",
        "beats_baseline": (
            f"{modality} model: no primary metric worse than the baseline's, one strictly better."
        ),
    }

    @dg.multi_asset_check(
        name=f"{modality}_model_gates",
        specs=[
            dg.AssetCheckSpec(name, asset=asset, blocking=True, description=description)
            for name, description in descriptions.items()
        ],
        can_subset=True,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> Iterator[dg.AssetCheckResult]:
        card = json.loads(warehouse.file(asset.key, CARD_FILE).read_text())
        for key in sorted(context.selected_asset_check_keys, key=lambda k: k.name):
            yield _gate_result(card, key, gate_prefixes[key.name])

    return _checks


INGEST_CHECKS = [_ingest_check(a) for a in (sdss_spectra, kepler_lightcurves, gaia_photometry)]
SUITE_CHECKS = [_suite_check(m) for m in MODALITIES]
GATE_CHECKS = [_gate_checks(modality) for modality in MODALITIES]
CHECKS = [*INGEST_CHECKS, *SUITE_CHECKS, no_source_in_two_splits, *GATE_CHECKS]
