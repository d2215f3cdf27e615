"""Astro assets: survey ingestion -> feature store -> split -> models -> promotion. Thin wiring.

The domain modules (torch, scikit-learn, astropy, numba, pandas) are imported inside the
asset bodies, so loading the code location stays cheap; only runs pay for them.
"""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
from pydantic import Field

from brainstar.core import pools
from brainstar.domain.astro.formats import LABELS_CATALOG
from brainstar.domain.astro.modalities import CODE_VERSION, MODALITIES
from platform_assets.astro.layout import (
    CARD_FILE,
    MODEL_REPORT_FILE,
    REPORT_FILE,
    SPLITS_FILE,
    TABLE_FILE,
)
from platform_assets.metadata import key_figure, parquet_table_metadata
from platform_assets.operations.placement import runs_in
from platform_assets.operations.resource_usage import record_resource_usage
from resources import LandingZone, ModelRegistry, TorchDevice, Warehouse

GROUP = "astro"
SURVEY_ASSETS = {"sdss": "sdss_spectra", "kepler": "kepler_lightcurves", "gaia": "gaia_photometry"}


def _astro_asset(
    name: str,
    *,
    deps: Sequence[dg.AssetsDefinition] = (),
    kinds: frozenset[str] = frozenset({"parquet"}),
    pool: str = pools.PROCESSING,
    description: str | None = None,
    **decorator_args: Any,
) -> Callable[[Callable[..., dg.MaterializeResult]], dg.AssetsDefinition]:
    """``dg.asset`` keyed ``astro/<name>`` in the astro group, its step placed in ``pool``.

    Without ``description`` Dagster takes the function's docstring.
    """
    decorate = dg.asset(
        key=["astro", name],
        deps=list(deps),
        group_name=GROUP,
        kinds=set(kinds),
        description=description,
        **runs_in(pool),
        **decorator_args,
    )
    return lambda function: decorate(record_resource_usage(function))


def _ingestion_asset(survey: str, description: str) -> dg.AssetsDefinition:
    name = SURVEY_ASSETS[survey]

    @_astro_asset(
        name,
        kinds=frozenset({"fits" if survey != "gaia" else "csv", "parquet"}),
        description=description,
    )
    def _asset(
        context: dg.AssetExecutionContext, landing_zone: LandingZone, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        from platform_assets.astro.ingestion import ingest_landed_survey

        report, metadata = ingest_landed_survey(
            survey,
            landing_zone,
            warehouse.file(context.asset_key, TABLE_FILE),
            warehouse.file(context.asset_key, REPORT_FILE),
            context.log,
        )
        return dg.MaterializeResult(
            metadata=metadata,
            data_version=dg.DataVersion(report["version"]),
        )

    return _asset


sdss_spectra = _ingestion_asset(
    "sdss",
    "SDSS spec files: stars only (CLASS, velocity limit), in their rest frame, masked, resampled, "
    "continuum-normalised (incremental).",
)
kepler_lightcurves = _ingestion_asset(
    "kepler",
    "Kepler llc files: quality-masked, biweight-detrended, BLS + Lomb-Scargle features (incremental).",
)
gaia_photometry = _ingestion_asset(
    "gaia", "Gaia gaia_source CSVs: astrometry and photometry rows (incremental)."
)


class FeatureStoreConfig(dg.Config):
    parallax_over_error_min: float = Field(default=10.0, description="Gaia cut: parallax / error above this.")
    ruwe_max: float = Field(default=1.4, description="Gaia cut: RUWE below this (single-star fit).")
    flux_excess_sigma_max: float | None = Field(
        default=3.0,
        description="Gaia cut: |C*| (corrected BP/RP flux excess) within this many sigma; null: no cut.",
    )


@_astro_asset("feature_store", deps=[sdss_spectra, kepler_lightcurves, gaia_photometry])
def feature_store(
    context: dg.AssetExecutionContext,
    config: FeatureStoreConfig,
    landing_zone: LandingZone,
    warehouse: Warehouse,
) -> dg.MaterializeResult:
    """Spectral, light-curve and SED feature tables keyed by source id, content-hash versioned.

    Stellar labels come from catalogues landed in astro/catalogs (sppParams, allStar, a lab's own
    table) before the spec files' ELODIE fits; each row and the metadata say which source gave it.
    """
    from brainstar.domain.astro import photometry, pipeline

    tables = {s: warehouse.file(["astro", n], TABLE_FILE) for s, n in SURVEY_ASSETS.items()}
    cuts = photometry.GaiaCuts(
        parallax_over_error_min=config.parallax_over_error_min,
        ruwe_max=config.ruwe_max,
        flux_excess_sigma_max=config.flux_excess_sigma_max,
    )
    out_dir = warehouse.asset_dir(context.asset_key)
    manifest = pipeline.build_feature_store(tables, landing_zone.path / LABELS_CATALOG, out_dir, cuts)
    metadata: dict[str, dg.RawMetadataValue] = {"path": dg.MetadataValue.path(str(out_dir))}
    for modality in MODALITIES:
        metadata[f"{modality}_rows"] = manifest[modality]["rows"]
        metadata[f"{modality}_version"] = manifest[modality]["version"]
        metadata[f"{modality}_label_sources"] = dg.MetadataValue.json(manifest[modality]["label_sources"])
        # Three tables, one column schema per asset: each table shows as its own preview.
        metadata.update(
            parquet_table_metadata(out_dir / f"{modality}.parquet", name=f"{modality}_preview", schema=False)
        )
    metadata["label_catalogues"] = dg.MetadataValue.json(manifest["label_catalogues"])
    metadata["gaia_cut_failures"] = dg.MetadataValue.json(manifest["gaia_cut_failures"])
    return dg.MaterializeResult(metadata=metadata)


class SplitConfig(dg.Config):
    seed: int = Field(default=0, description="Seed of the group hash; the same seed gives the same split.")


@_astro_asset("splits", deps=[feature_store])
def splits(
    context: dg.AssetExecutionContext, config: SplitConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Deterministic 70/15/15 split, stratified by class or Teff bin, grouped by source id."""
    from brainstar.domain.astro import pipeline

    path = warehouse.file(context.asset_key, SPLITS_FILE)
    table = pipeline.make_splits(warehouse.asset_dir(feature_store.key), path, config.seed)
    counts = table.groupby(["modality", "split"]).size()
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            **{f"{m}_{s}_rows": int(n) for (m, s), n in counts.items()},
            **parquet_table_metadata(path),
        }
    )


def _model_asset(modality: str, description: str) -> dg.AssetsDefinition:
    name = f"{modality}_model"

    @_astro_asset(
        name,
        deps=[feature_store, splits],
        kinds=frozenset({"pytorch", "scikitlearn"}),
        pool=pools.GPU,  # only the training steps use the torch device
        description=description,
        code_version=CODE_VERSION,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        torch_device: TorchDevice,
        landing_zone: LandingZone,
        model_registry: ModelRegistry,
    ) -> dg.MaterializeResult:
        from brainstar.core.atomic import write_text_atomic
        from brainstar.domain.astro import figures, pipeline, registry

        store_dir, splits_path = (
            warehouse.asset_dir(feature_store.key),
            warehouse.file(splits.key, SPLITS_FILE),
        )
        where = model_registry.location(warehouse)
        card = pipeline.train_and_register(modality, store_dir, splits_path, where, torch_device.device)
        path = warehouse.write_json(warehouse.file(context.asset_key, CARD_FILE), card)
        # The folded light curves are drawn from the landed files, as ingestion read them.
        kepler_files = (
            {p.name: p for p in landing_zone.survey_files("kepler")[0]} if modality == "lightcurve" else {}
        )
        # The report reads the bundle back from the registry: it shows the version as registered.
        bundle, _ = registry.load_version(where, modality, card["version"])
        report = figures.registered_model_report(modality, card, store_dir, splits_path, bundle, kepler_files)
        report_path = write_text_atomic(warehouse.file(context.asset_key, MODEL_REPORT_FILE), report.html)
        metrics = {f"test_{k}": float(v) for k, v in card["metrics"].items()}
        baseline = {f"baseline_test_{k}": float(v) for k, v in card["baseline_metrics"].items()}
        # Share of the test set flagged out of the training domain, and how well the uncertainty is
        # calibrated (within_1_sigma should be near 0.683); absent on cards from before the check.
        domain = {f"domain_{k}": float(v) for k, v in card.get("domain_check", {}).items()}
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "report": dg.MetadataValue.path(str(report_path)),
                "key_figure": key_figure(report.key_figure_png),
                "registry_version": card["version"],
                "mlflow_run_id": card["run_id"],
                "gates_passed": card["passed"],
                "train_wall_seconds": card["train_stats"]["train_seconds"],
                "baseline_fit_wall_seconds": card["baseline_seconds"],
                "epochs": card["train_stats"]["epochs"],
                "data_version": card["data_version"],
                "label_source": dg.MetadataValue.json(card.get("label_source", {})),
                **metrics,
                **baseline,
                **domain,
                **torch_device.metadata(),
            }
        )

    return _asset


spectral_model = _model_asset("spectral", "MLP on PCA of spectra -> Teff, log g, [Fe/H]; ridge baseline.")
lightcurve_model = _model_asset(
    "lightcurve", "MLP on folded views + period features -> class and period; gradient-boosting baseline."
)
sed_model = _model_asset("sed", "MLP on Gaia photometry and parallax -> Teff; ridge baseline.")
MODEL_ASSETS = {"spectral": spectral_model, "lightcurve": lightcurve_model, "sed": sed_model}


def _promotion_asset(modality: str) -> dg.AssetsDefinition:
    name = f"promote_{modality}_model"
    upstream = MODEL_ASSETS[modality]

    @_astro_asset(
        name,
        deps=[upstream],
        kinds=frozenset({"pytorch"}),
        description=f"Points the MLflow alias production at the {modality} version that passed its gates.",
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: Warehouse, model_registry: ModelRegistry
    ) -> dg.MaterializeResult:
        from brainstar.domain.astro import pipeline, registry

        card = pipeline.load_card(warehouse.file(upstream.key, CARD_FILE))
        aliases = registry.promote(model_registry.location(warehouse), modality, card["version"])
        return dg.MaterializeResult(
            metadata={
                "model": modality,
                "production_version": aliases[registry.PRODUCTION],
                "model_uri": f"models:/{modality}@{registry.PRODUCTION}",
                "data_version": card["data_version"],
            }
        )

    return _asset


promote_spectral_model = _promotion_asset("spectral")
promote_lightcurve_model = _promotion_asset("lightcurve")
promote_sed_model = _promotion_asset("sed")

ASSETS = [
    sdss_spectra,
    kepler_lightcurves,
    gaia_photometry,
    feature_store,
    splits,
    spectral_model,
    lightcurve_model,
    sed_model,
    promote_spectral_model,
    promote_lightcurve_model,
    promote_sed_model,
]
